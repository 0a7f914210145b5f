package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"

	"github.com/rampart-mesh/rampart/sidecar"
)

// egressConfig holds the egress flags: decisions on connections leaving the mesh
// (sidecar/egress), made only when the bundle has data.rampart.egress rules.
type egressConfig struct {
	resolver string
	off      bool
}

func (c *egressConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.resolver, "egress-resolver", envOr("", "RAMPART_EGRESS_RESOLVER"),
		"DNS server (ip:port) that egress checks destinations against: a name allows only its addresses; default the system resolver ($RAMPART_EGRESS_RESOLVER)")
	fs.BoolVar(&c.off, "egress-off", envOr("", "RAMPART_EGRESS_OFF") == "true",
		"never decide egress, whatever the policy says ($RAMPART_EGRESS_OFF=true)")
}

func (c *egressConfig) apply(o *sidecar.Options) error {
	o.Outbound.Egress.Off = c.off
	if c.resolver == "" {
		return nil
	}
	addr, err := netip.ParseAddrPort(c.resolver)
	if err != nil {
		return fmt.Errorf("--egress-resolver: %w", err)
	}
	o.Outbound.Egress.Resolver = &net.Resolver{PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr.String())
		}}
	return nil
}
