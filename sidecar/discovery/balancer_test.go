package discovery_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

func TestBalancerRoundRobinAndEjection(t *testing.T) {
	eps := []discovery.Endpoint{
		{Addr: netip.MustParseAddrPort("198.18.5.2:80")},
		{Addr: netip.MustParseAddrPort("198.18.5.3:80")},
		{Addr: netip.MustParseAddrPort("198.18.5.4:80")},
	}
	b := discovery.NewBalancer(100 * time.Millisecond)
	seen := map[netip.AddrPort]int{}
	for range 30 {
		ep, err := b.Pick(eps)
		if err != nil {
			t.Fatal(err)
		}
		seen[ep.Addr]++
	}
	for _, ep := range eps {
		if seen[ep.Addr] != 10 {
			t.Fatalf("round robin spread %v, want 10 each", seen)
		}
	}

	b.Fail(eps[1].Addr)
	for range 20 {
		if ep, _ := b.Pick(eps); ep.Addr == eps[1].Addr {
			t.Fatal("picked an ejected endpoint while others were healthy")
		}
	}
	time.Sleep(150 * time.Millisecond)
	if b.Ejected(eps[1].Addr) {
		t.Fatal("endpoint still ejected after the ejection period")
	}

	for _, ep := range eps {
		b.Fail(ep.Addr)
	}
	if _, err := b.Pick(eps); err != nil {
		t.Fatalf("all ejected: %v, want a pick anyway (panic mode)", err)
	}
	if _, err := b.Pick(nil); err != discovery.ErrNoEndpoints {
		t.Fatalf("no endpoints: %v, want ErrNoEndpoints", err)
	}
}
