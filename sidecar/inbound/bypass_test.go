package inbound_test

import (
	"maps"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

// TestBypassCorpus sends every raw-byte case of testdata/bypass through a real proxy
// (real OPA, testdata/policy) to a recording app (Go's own HTTP server) and checks
// the statuses the client gets, exactly which requests the app saw, and that no
// request the app saw would be routed anywhere the policy did not allow.
func TestBypassCorpus(t *testing.T) {
	cases := rawcase.Load(t, "testdata/bypass")
	if len(cases) < 60 {
		t.Fatalf("corpus has %d cases, want at least 60", len(cases))
	}
	labels := map[string]string{"app": "deathstar"}
	t.Run("plaintext", func(t *testing.T) {
		a := startApp(t)
		addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr, LocalLabels: labels})
		runCorpus(t, cases, a, func() net.Conn { return dial(t, addr) }, "")
	})
	// The same bytes inside HBONE streams from an authenticated tiefighter: the
	// tunnel changes the transport, not a single decision.
	t.Run("hbone", func(t *testing.T) {
		m := newMesh(t, "testdata/policy", func(o *inbound.Options) { o.LocalLabels = labels })
		tie := m.ship(t, "tiefighter", "127.0.0.2")
		xfcc := "By=spiffe://cluster.local/ns/default/sa/deathstar;URI=spiffe://cluster.local/ns/default/sa/tiefighter"
		runCorpus(t, cases, m.app, tie.app, xfcc)
	})
}

// runCorpus sends every case on a fresh connection from dial; xfcc is what the app
// must see in x-forwarded-client-cert wherever a case checks it.
func runCorpus(t *testing.T, cases []rawcase.Case, a *app, dial func() net.Conn, xfcc string) {
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.Name, ".txt"), func(t *testing.T) {
			statuses, all := exchangeConn(t, dial(), c.Raw)
			seen := a.take()
			for _, s := range seen {
				if !allowedByTestPolicy(s) {
					t.Errorf("BYPASS: app saw %s %s (routed to %s, host %q), which policy does not allow", s.Method, s.URI, s.routedTo(), s.Host)
				}
			}
			if got := joinStatuses(statuses); got != c.Want["status"] {
				t.Errorf("statuses %q, want %q; response:\n%.300s", got, c.Want["status"], all)
			}
			if got := joinSeen(seen); got != c.Want["upstream"] {
				t.Errorf("app saw %q, want %q", got, c.Want["upstream"])
			}
			want := maps.Clone(c.Want)
			if _, ok := want["xfcc"]; ok {
				want["xfcc"] = xfcc
			}
			checkExtras(t, want, seen, all)
		})
	}
}

func joinStatuses(st []int) string {
	if len(st) == 0 {
		return "none"
	}
	parts := make([]string, len(st))
	for i, s := range st {
		parts[i] = strconv.Itoa(s)
	}
	return strings.Join(parts, " ")
}

func joinSeen(seen []seen) string {
	if len(seen) == 0 {
		return "none"
	}
	parts := make([]string, len(seen))
	for i, s := range seen {
		parts[i] = s.Method + " " + s.URI
	}
	return strings.Join(parts, " | ")
}

// checkExtras checks the optional expectations: host and xfcc (what the app saw),
// body and echo (what the client got).
func checkExtras(t *testing.T, want map[string]string, seen []seen, all string) {
	t.Helper()
	for key, w := range want {
		switch key {
		case "host", "xfcc":
			for _, s := range seen {
				got := map[string]string{"host": s.Host, "xfcc": s.XFCC}[key]
				if got != w {
					t.Errorf("app saw %s %q, want %q", key, got, w)
				}
			}
		case "body", "echo":
			if !strings.Contains(all, w) {
				t.Errorf("client got %.300q, want it to contain %q", all, w)
			}
		}
	}
}

// FuzzBypass feeds arbitrary bytes, seeded with the corpus, through a real proxy
// and policy to the recording app: whatever the bytes, the app never sees a request
// the policy would not allow.
func FuzzBypass(f *testing.F) {
	for _, c := range rawcase.Load(f, "testdata/bypass") {
		f.Add(c.Raw)
	}
	a := startApp(f)
	addr := startProxy(f, inbound.Options{
		Authorizer: engine(f, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr,
		LocalLabels: map[string]string{"app": "deathstar"},
		Timeouts:    inbound.Timeouts{ReadHeader: time.Second, Idle: time.Second, Sniff: 50 * time.Millisecond},
	})
	f.Fuzz(func(t *testing.T, raw []byte) {
		exchangeRaw(t, addr, raw)
		for _, s := range a.take() {
			if !allowedByTestPolicy(s) {
				t.Fatalf("BYPASS: app saw %s %s (routed to %s, host %q)", s.Method, s.URI, s.routedTo(), s.Host)
			}
		}
	})
}
