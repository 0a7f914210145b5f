package discovery_test

import (
	"fmt"
	"net/netip"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

func ExampleFile() {
	reg, err := discovery.LoadFile("testdata/starwars.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	eps, _ := reg.Endpoints(netip.MustParseAddrPort("10.96.0.10:80"))
	ep, _ := discovery.NewBalancer(0).Pick(eps)
	fmt.Println(ep.Addr, ep.Meshed, ep.Identity)
	// Output: 198.18.5.2:80 true spiffe://cluster.local/ns/default/sa/deathstar
}

// With least-requests, a new connection goes to the endpoint with fewer
// connections in flight (of two random candidates; here there are only two).
func ExampleBalancer_Acquire() {
	eps := []discovery.Endpoint{
		{Addr: netip.MustParseAddrPort("198.18.5.2:80")},
		{Addr: netip.MustParseAddrPort("198.18.5.3:80")},
	}
	b := discovery.NewBalancerWith(discovery.BalancerOptions{Policy: discovery.LeastRequests})
	first, releaseFirst, _ := b.Acquire(eps)
	second, releaseSecond, _ := b.Acquire(eps)
	fmt.Println("second avoids the busy first:", second.Addr != first.Addr)
	releaseFirst()
	third, releaseThird, _ := b.Acquire(eps)
	fmt.Println("third goes where the first finished:", third.Addr == first.Addr)
	releaseSecond()
	releaseThird()
	fmt.Println("in flight:", b.InFlight(first.Addr)+b.InFlight(second.Addr))
	// Output:
	// second avoids the busy first: true
	// third goes where the first finished: true
	// in flight: 0
}
