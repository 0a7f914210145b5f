package outbound_test

import (
	"fmt"

	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// Routes are validated when the proxy is built, so a typo fails at start.
func ExampleNew() {
	_, err := outbound.New(outbound.Options{Routes: []outbound.Route{
		{Listen: "127.0.0.1:9080", Destination: "deathstar:80", Plain: true},
	}})
	fmt.Println(err)
	// Output: outbound: route 0 (127.0.0.1:9080): destination: ParseAddr("deathstar"): unable to parse IP
}
