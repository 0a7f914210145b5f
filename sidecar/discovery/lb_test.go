package discovery_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

func threeEndpoints() []discovery.Endpoint {
	return []discovery.Endpoint{
		{Addr: netip.MustParseAddrPort("198.18.5.2:80")},
		{Addr: netip.MustParseAddrPort("198.18.5.3:80")},
		{Addr: netip.MustParseAddrPort("198.18.5.4:80")},
	}
}

// TestSlowEndpointGetsFewerConnections: the first endpoint is slow (its
// connections stay open), the others answer at once (released right away).
// Least-requests sends the slow one at most one connection, since a connection
// in flight always loses against an idle endpoint; round robin keeps sending it
// a third.
func TestSlowEndpointGetsFewerConnections(t *testing.T) {
	for _, tc := range []struct {
		policy  discovery.Policy
		minSlow int
		maxSlow int
	}{
		{discovery.LeastRequests, 0, 1},
		{discovery.RoundRobin, 100, 100},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			eps := threeEndpoints()
			b := discovery.NewBalancerWith(discovery.BalancerOptions{Policy: tc.policy})
			slow := 0
			for range 300 {
				ep, release, err := b.Acquire(eps)
				if err != nil {
					t.Fatal(err)
				}
				if ep.Addr == eps[0].Addr {
					slow++
					defer release() // still in flight at the end of the run
					continue
				}
				release()
			}
			if slow < tc.minSlow || slow > tc.maxSlow {
				t.Errorf("slow endpoint got %d of 300 connections, want %d..%d", slow, tc.minSlow, tc.maxSlow)
			}
			if n := b.InFlight(eps[1].Addr); n != 0 {
				t.Errorf("fast endpoint has %d in flight after all released, want 0", n)
			}
		})
	}
}

// TestLeastRequestsSpreadsAndRecovers: with every connection held, a pick is
// never the endpoint with strictly the most in flight (it lost against the other
// candidate); released connections stop counting, once; an ejected endpoint gets
// none while others are healthy, but all-ejected still picks (panic mode).
func TestLeastRequestsSpreadsAndRecovers(t *testing.T) {
	eps := threeEndpoints()
	b := discovery.NewBalancerWith(discovery.BalancerOptions{EjectFor: 100 * time.Millisecond})
	var held []func()
	for range 60 {
		before := map[netip.AddrPort]int{}
		for _, ep := range eps {
			before[ep.Addr] = b.InFlight(ep.Addr)
		}
		ep, release, _ := b.Acquire(eps)
		held = append(held, release)
		uniqueMax := true
		for _, o := range eps {
			if o.Addr != ep.Addr && before[o.Addr] >= before[ep.Addr] {
				uniqueMax = false
			}
		}
		if uniqueMax {
			t.Fatalf("picked %s with %v in flight: the busiest endpoint", ep.Addr, before)
		}
	}
	for _, r := range held {
		r()
		r() // a second release must not count twice
	}
	for _, ep := range eps {
		if n := b.InFlight(ep.Addr); n != 0 {
			t.Fatalf("in flight %d at %s after every release, want 0", n, ep.Addr)
		}
	}

	b.Fail(eps[0].Addr)
	for range 50 {
		if ep, _ := b.Pick(eps); ep.Addr == eps[0].Addr {
			t.Fatal("picked an ejected endpoint while others were healthy")
		}
	}
	for _, ep := range eps {
		b.Fail(ep.Addr)
	}
	if _, err := b.Pick(eps); err != nil {
		t.Fatalf("all ejected: %v, want a pick anyway (panic mode)", err)
	}
	if _, _, err := b.Acquire(nil); err != discovery.ErrNoEndpoints {
		t.Fatalf("no endpoints: %v, want ErrNoEndpoints", err)
	}
}

func TestParsePolicy(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", "least-requests", ""},
		{"least-requests", "least-requests", ""},
		{"round-robin", "round-robin", ""},
		{"random", "", "want least-requests or round-robin"},
		{"ROUND-ROBIN", "", "want least-requests or round-robin"},
	} {
		p, err := discovery.ParsePolicy(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want error %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || p.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, p, err, tc.want)
		}
	}
}

// BenchmarkPick compares the policies side by side over 8 endpoints, with and
// without counting (Acquire + release).
func BenchmarkPick(b *testing.B) {
	var eps []discovery.Endpoint
	for i := range 8 {
		eps = append(eps, discovery.Endpoint{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 5, byte(i + 2)}), 80)})
	}
	for _, p := range []discovery.Policy{discovery.RoundRobin, discovery.LeastRequests} {
		bal := discovery.NewBalancerWith(discovery.BalancerOptions{Policy: p})
		b.Run(p.String()+"/pick", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bal.Pick(eps)
			}
		})
		b.Run(p.String()+"/acquire", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, release, _ := bal.Acquire(eps)
				release()
			}
		})
	}
}
