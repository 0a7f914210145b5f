package main

import (
	"context"
	"net"
	"net/netip"

	"github.com/rampart-mesh/rampart/sidecar"
)

// egressFlags binds the egress settings: decisions on connections leaving the
// mesh (sidecar/egress), made only when the bundle has data.rampart.egress rules.
func (s *settings) egressFlags(b *binder) {
	b.section("Egress (connections leaving the mesh, decided when the bundle has data.rampart.egress rules)")
	b.flag(addrPortValue{&s.EgressResolver}, "egress-resolver", "DNS server (ip:port) that egress checks destinations against: a name allows only its addresses; default the system resolver", "RAMPART_EGRESS_RESOLVER")
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

// addrPortValue is ip:port; "" unsets it.
type addrPortValue struct{ a *netip.AddrPort }

func (v addrPortValue) Type() string { return "ip:port" }
func (v addrPortValue) String() string {
	if !v.a.IsValid() {
		return ""
	}
	return v.a.String()
}

func (v addrPortValue) Set(s string) error {
	if s == "" {
		*v.a = netip.AddrPort{}
		return nil
	}
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		return err
	}
	*v.a = a
	return nil
}
