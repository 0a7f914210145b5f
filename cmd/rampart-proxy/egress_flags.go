package main

import (
	"context"
	"net"

	"github.com/rampart-mesh/rampart/sidecar"
)

// egressFlags binds the egress settings: decisions on connections leaving the
// mesh (sidecar/egress), made only when the bundle has data.rampart.egress rules.
func (s *settings) egressFlags(b *binder) {
	b.section("Egress (connections leaving the mesh, decided when the bundle has data.rampart.egress rules)")
	b.flag(ipPortValue(&s.EgressResolver), "egress-resolver", "DNS server (ip:port) that egress checks destinations against: a name allows only its addresses; default the system resolver", "RAMPART_EGRESS_RESOLVER")
	b.flag(boolValue{&s.EgressOff}, "egress-off", "never decide egress, whatever the policy says", "RAMPART_EGRESS_OFF")
	b.all.Lookup("egress-off").NoOptDefVal = "true" // --egress-off alone means true
}

// egress fills the outbound egress options.
func (s *settings) egress(o *sidecar.Options) {
	o.Outbound.Egress.Off = s.EgressOff
	if !s.EgressResolver.IsValid() {
		return
	}
	addr := s.EgressResolver.String()
	o.Outbound.Egress.Resolver = &net.Resolver{PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
}
