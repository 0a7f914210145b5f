// Command coredns is CoreDNS with only the plugins test/cluster's Corefile uses
// (bind, errors, ready, kubernetes, cache), the way CoreDNS documents building a
// server with a chosen plugin set. The full build also links every cloud DNS
// provider's and tracer's SDK, which dominated its cold build time.
package main

import (
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
