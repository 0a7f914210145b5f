package admin_test

import (
	"fmt"

	"github.com/rampart-mesh/rampart/sidecar/admin"
)

// The injector passes the app's original probes; the proxy checks them at start.
func ExampleParseProbes() {
	probes, err := admin.ParseProbes(`{"/app-health/web/readyz": {"httpGet": {"path": "/ready", "port": 8080}}}`)
	fmt.Println(len(probes), probes["/app-health/web/readyz"].HTTPGet.Port, err)
	_, err = admin.ParseProbes(`{"/app-health/web/readyz": {"httpGet": {"path": "/ready", "port": "http"}}}`)
	fmt.Println(err)
	// Output:
	// 1 8080 <nil>
	// app probes: port "http" is not a number in 1..65535
}
