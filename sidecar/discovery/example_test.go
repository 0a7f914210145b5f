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
