package redirect_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
)

type captureCase struct {
	Name, From, Dial     string
	Listener, Orig, Peer string
	LocalIP              string // getsockname's address, when given
}

func loadCases(t *testing.T, file string) []captureCase {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []captureCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestCapture runs testdata/capture_cases.json against pods A and B captured on the
// real kernel: each case dials from a pod's app or proxy cgroup and checks which
// listener answered, what SO_ORIGINAL_DST told it and what getpeername told the app.
func TestCapture(t *testing.T) {
	tp := newTopology(t)
	hA, err := redirect.Attach(tp.optionsA(t))
	if err != nil {
		t.Fatalf("attach A: %v", err)
	}
	t.Cleanup(func() { _ = hA.Close() })
	hB := tp.attachB(t)
	for _, c := range loadCases(t, "testdata/capture_cases.json") {
		t.Run(c.Name, func(t *testing.T) {
			r, s := tp.dial(t, c.From, tp.expand(c.Dial))
			if r.Err != "" {
				t.Fatalf("dial %s: %s", c.Dial, r.Err)
			}
			if s.Listener != c.Listener {
				t.Errorf("answered by %q, want %q", s.Listener, c.Listener)
			}
			if want := tp.expand(c.Orig); c.Orig != "" && s.OrigDst != want {
				t.Errorf("SO_ORIGINAL_DST = %q, want %q", s.OrigDst, want)
			}
			if want := tp.expand(c.Peer); r.Peer != want {
				t.Errorf("getpeername = %q, want %q", r.Peer, want)
			}
			if l, _ := netip.ParseAddrPort(r.Local); c.LocalIP != "" && l.Addr().String() != tp.expand(c.LocalIP) {
				t.Errorf("getsockname = %q, want address %s", r.Local, tp.expand(c.LocalIP))
			}
		})
	}
	t.Run("UDP and DNS are untouched", func(t *testing.T) {
		p := tp.A.Start(t, tp.A.AppCgroup, "udp", tp.C.IP4.String()+":53")
		if l := p.Line(); !strings.Contains(l, "udp :53 ping") {
			t.Errorf("udp to C:53 answered %s", l)
		}
	})
	t.Run("counters", func(t *testing.T) {
		checkStats(t, hA, hB)
	})
}

func checkStats(t *testing.T, hA, hB *redirect.Handle) {
	sa, err := hA.Stats()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := hB.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if sa.Redirected < 3 || sa.SkippedProxy < 2 || sa.SkippedExcluded < 2 || sa.OrigDstAnswered < 3 {
		t.Errorf("pod A counters %+v", sa)
	}
	if sb.InboundSteered < 2 {
		t.Errorf("pod B counters %+v", sb)
	}
	if n, err := hA.OrigDstEntries(); err != nil || n < 3 {
		t.Errorf("pod A orig dst entries = %d, %v", n, err)
	}
}

// TestDetachRestoresDirect attaches and detaches pod A and checks that its app
// reaches C directly afterwards and that no pins remain.
func TestDetachRestoresDirect(t *testing.T) {
	tp := newTopology(t)
	h, err := redirect.Attach(tp.optionsA(t))
	if err != nil {
		t.Fatal(err)
	}
	to := tp.C.IP4.String() + ":80"
	if _, s := tp.dial(t, "A app", to); s.Listener != "127.0.0.1:15001" {
		t.Fatalf("attached: answered by %q", s.Listener)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if r, s := tp.dial(t, "A app", to); s.Listener != ":80" || r.Peer != to {
		t.Errorf("detached: answered by %q, peer %q (%s)", s.Listener, r.Peer, r.Err)
	}
	if names, _ := redirect.Pinned(tp.pinRoot); len(names) != 0 {
		t.Errorf("pins left after Close: %v", names)
	}
}

// TestAttachTwiceRefused: a second Attach of a pinned pod must adopt, not stack.
func TestAttachTwiceRefused(t *testing.T) {
	tp := newTopology(t)
	h, err := redirect.Attach(tp.optionsA(t))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := redirect.Attach(tp.optionsA(t)); !errors.Is(err, redirect.ErrAlreadyAttached) {
		t.Fatalf("second attach: %v, want ErrAlreadyAttached", err)
	}
}

// attachAndWait is the helper an "agent" process runs: attach, say READY, block.
func attachAndWait(args []string) error {
	var o redirect.Options
	if err := json.Unmarshal([]byte(args[0]), &o); err != nil {
		return err
	}
	if _, err := redirect.Attach(o); err != nil {
		return err
	}
	fmt.Println("READY")
	select {}
}

// TestPinsSurviveAgentKill attaches from a separate process, SIGKILLs it, checks that
// pod A is still captured, adopts the pins from this process and detaches.
func TestPinsSurviveAgentKill(t *testing.T) {
	tp := newTopology(t)
	opts, _ := json.Marshal(tp.optionsA(t))
	agent := tp.env.StartIn(t, "/proc/self/ns/net", tp.env.Cgroup, "attach", string(opts))
	if l := agent.Line(); l != "READY" {
		t.Fatalf("agent: %q", l)
	}
	agent.Kill()
	to := tp.B.IP4.String() + ":80"
	if _, s := tp.dial(t, "A app", to); s.Listener != "127.0.0.1:15001" || s.OrigDst != to {
		t.Fatalf("after agent kill: answered by %q orig %q", s.Listener, s.OrigDst)
	}
	h, err := redirect.Adopt(tp.pinRoot, "pod-a")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := h.Stats(); err != nil || st.Redirected < 1 {
		t.Errorf("adopted stats %+v %v", st, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, s := tp.dial(t, "A app", to); s.Listener != ":80" {
		t.Errorf("after adopt+close: answered by %q", s.Listener)
	}
}

// TestThousandConnections opens 1000 connections at once from A's app to 1000
// different ports of B; every one must recover its own original destination.
func TestThousandConnections(t *testing.T) {
	tp := newTopology(t)
	h, err := redirect.Attach(tp.optionsA(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	p := tp.A.Start(t, tp.A.AppCgroup, "dialmany", "1000", tp.B.IP4.String(), "20000")
	if l := p.Line(); !strings.HasPrefix(l, "ok=1000 ") {
		t.Fatalf("1000 concurrent connections: %s", l)
	}
}

// TestInboundFailsClosed: with capture attached but no inbound listener registered
// (the proxy has not started, or exited), plaintext into the pod is refused instead
// of reaching the app; the tunnel port still reaches its listener.
func TestInboundFailsClosed(t *testing.T) {
	tp := newTopology(t)
	h, err := redirect.Attach(redirect.Options{
		Name: "pod-b", PinRoot: tp.pinRoot, CgroupPath: tp.B.Cgroup, NetNSPath: tp.B.NetNS,
		PodIPs: []netip.Addr{tp.B.IP4}, ProxyCgroupID: cgroupID(t, tp.B.ProxyCgroup),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	if r, s := tp.dial(t, "C app", tp.B.IP4.String()+":80"); r.Err == "" {
		t.Errorf("plaintext to B:80 without a listener answered by %q", s.Listener)
	}
	if _, s := tp.dial(t, "C app", tp.B.IP4.String()+":15008"); s.Listener != ":15008" {
		t.Errorf("B:15008 answered by %q", s.Listener)
	}
	if st, err := h.Stats(); err != nil || st.InboundNoListener < 1 || st.InboundSteered != 0 {
		t.Errorf("stats %+v %v", st, err)
	}
}

// TestDirectDialCannotBorrowOrigDst: an app connects to B:80 from port 40123, then
// straight to its proxy's 127.0.0.1:15001 from the same port. The proxy must not be
// told B:80 for the second connection.
func TestDirectDialCannotBorrowOrigDst(t *testing.T) {
	tp := newTopology(t)
	h, err := redirect.Attach(tp.optionsA(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	to := tp.B.IP4.String() + ":80"
	for i, c := range []struct{ dial, orig string }{{to, to}, {"127.0.0.1:15001", "-"}} {
		p := tp.A.Start(t, tp.A.AppCgroup, "dialfrom", "40123", c.dial)
		r, err := podtest.ParseResult(p.Line())
		if err != nil || r.Err != "" {
			t.Fatalf("dial %d: %v %s", i, err, r.Err)
		}
		if s, _ := podtest.ParseServed(r.Line); s.Listener != "127.0.0.1:15001" || s.OrigDst != c.orig {
			t.Errorf("dial %s: answered by %q, SO_ORIGINAL_DST %q, want %q", c.dial, s.Listener, s.OrigDst, c.orig)
		}
	}
}

// TestMPTCPListenerRefused: the kernel keeps MPTCP sockets out of sockmaps, and Go
// listeners default to MPTCP; the error must say so rather than fail obscurely.
func TestMPTCPListenerRefused(t *testing.T) {
	tp := newTopology(t)
	h, err := redirect.Attach(tp.optionsA(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	var lc net.ListenConfig
	lc.SetMultipathTCP(true)
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = h.SetInboundListener(l.(*net.TCPListener))
	if err == nil || !strings.Contains(err.Error(), "MPTCP") {
		t.Fatalf("SetInboundListener(MPTCP listener) = %v, want an error naming MPTCP", err)
	}
	if h.HasInboundListener() {
		t.Error("an MPTCP listener was registered")
	}
}
