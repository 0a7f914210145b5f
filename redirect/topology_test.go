package redirect_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
)

// topology is three pods on one bridge (198.18.6.0/24, this package's range):
// A and B captured, C not. A's proxy and B's app and proxy run the serve helper.
type topology struct {
	env     *podtest.Env
	A, B, C *podtest.Pod
	C4x     netip.Addr // C's second address, inside A's excluded CIDR
	pinRoot string
	procs   map[string]*podtest.Proc
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func newTopology(t *testing.T) *topology {
	t.Helper()
	env := podtest.New(t, "rdr")
	tp := &topology{env: env, C4x: ip("198.18.6.70"), procs: map[string]*podtest.Proc{}}
	tp.A = env.Pod("a", ip("198.18.6.1"), ip("2001:2:0:6::1"))
	tp.B = env.Pod("b", ip("198.18.6.2"), ip("2001:2:0:6::2"))
	tp.C = env.Pod("c", ip("198.18.6.3"), ip("2001:2:0:6::3"))
	env.Run(tp.C.NetNS, "addr", "add", tp.C4x.String()+"/24", "dev", "eth0")
	tp.pinRoot = pinRoot(t, env.Prefix)
	tp.serve(t, tp.A, tp.A.ProxyCgroup, "127.0.0.1:15001", "[::1]:15001")
	tp.serve(t, tp.A, tp.A.AppCgroup, "127.0.0.1:8080")
	tp.serve(t, tp.B, tp.B.AppCgroup, ":80", ":15008", ":9090")
	tp.serve(t, tp.B, tp.B.ProxyCgroup, ":15006")
	tp.serve(t, tp.C, tp.C.AppCgroup, ":80", ":9090")
	p := tp.C.Start(t, tp.C.AppCgroup, "udpecho", ":53")
	if l := p.Line(); l != "READY" {
		t.Fatalf("udpecho: %q", l)
	}
	return tp
}

// pinRoot mounts bpffs if needed and returns a pin folder private to this test.
func pinRoot(t *testing.T, prefix string) string {
	t.Helper()
	if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(redirect.BPFFSRoot, prefix)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (tp *topology) serve(t *testing.T, pod *podtest.Pod, cgroup string, addrs ...string) {
	t.Helper()
	p := pod.Start(t, cgroup, append([]string{"serve"}, addrs...)...)
	if l := p.Line(); l != "READY" {
		t.Fatalf("serve %v: %q", addrs, l)
	}
	tp.procs[pod.Name+filepath.Base(cgroup)] = p
}

// optionsA captures pod A: port 9090 and 198.18.6.64/26 (holding C4x) excluded.
func (tp *topology) optionsA(t *testing.T) redirect.Options {
	t.Helper()
	return redirect.Options{
		Name: "pod-a", PinRoot: tp.pinRoot, CgroupPath: tp.A.Cgroup, NetNSPath: tp.A.NetNS,
		PodIPs: []netip.Addr{tp.A.IP4, tp.A.IP6}, ProxyCgroupID: cgroupID(t, tp.A.ProxyCgroup),
		ExcludeOutboundPorts: []uint16{9090},
		ExcludeCIDRs:         []netip.Prefix{netip.MustParsePrefix("198.18.6.64/26")},
	}
}

// attachB captures pod B with its proxy's inbound listener found as the agent does.
func (tp *topology) attachB(t *testing.T) *redirect.Handle {
	t.Helper()
	h, err := redirect.Attach(redirect.Options{
		Name: "pod-b", PinRoot: tp.pinRoot, CgroupPath: tp.B.Cgroup, NetNSPath: tp.B.NetNS,
		PodIPs: []netip.Addr{tp.B.IP4, tp.B.IP6}, ProxyCgroupID: cgroupID(t, tp.B.ProxyCgroup),
		ExcludeInboundPorts: []uint16{9090}, Mode: redirect.ModeStrict,
	})
	if err != nil {
		t.Fatalf("attach B: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	f, err := redirect.FindListener(tp.B.ProxyCgroup, redirect.InboundPort)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := h.SetInboundListener(f); err != nil {
		t.Fatal(err)
	}
	return h
}

func cgroupID(t *testing.T, path string) uint64 {
	t.Helper()
	id, err := redirect.CgroupID(path)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// expand replaces {B4}, {B6}, {C4}, {C6}, {C4x} with the pods' addresses.
func (tp *topology) expand(s string) string {
	return strings.NewReplacer("{A4}", tp.A.IP4.String(), "{A6}", tp.A.IP6.String(), "{B4}", tp.B.IP4.String(),
		"{B6}", tp.B.IP6.String(), "{C4x}", tp.C4x.String(), "{C4}", tp.C.IP4.String(),
		"{C6}", tp.C.IP6.String()).Replace(s)
}

// cgroupOf maps "A app" / "C proxy" to a pod and cgroup.
func (tp *topology) cgroupOf(from string) (*podtest.Pod, string) {
	pod := map[string]*podtest.Pod{"A": tp.A, "B": tp.B, "C": tp.C}[from[:1]]
	if strings.HasSuffix(from, "proxy") {
		return pod, pod.ProxyCgroup
	}
	return pod, pod.AppCgroup
}

// dial runs the dial helper as `from` and returns what it saw.
func (tp *topology) dial(t *testing.T, from, addr string) (podtest.Result, podtest.Served) {
	t.Helper()
	pod, cg := tp.cgroupOf(from)
	args := []string{"dial", addr}
	if uid, ok := strings.CutPrefix(from[2:], "uid "); ok { // e.g. "A uid 1337": app cgroup, that uid
		args = []string{"dialas", uid, addr}
	}
	p := pod.Start(t, cg, args...)
	r, err := podtest.ParseResult(p.Line())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := podtest.ParseServed(r.Line)
	return r, s
}
