package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/egress/tlshello"
)

// egressFlags binds the egress settings: decisions on connections leaving the
// mesh (sidecar/egress), made only when the bundle has data.rampart.egress rules.
func (s *settings) egressFlags(b *binder) {
	b.section("Egress (connections leaving the mesh, decided when the bundle has data.rampart.egress rules)")
	b.flag(ipPortValue(&s.EgressResolver), "egress-resolver", "DNS server (ip:port) that egress checks destinations against: a name allows only its addresses; default the system resolver", "RAMPART_EGRESS_RESOLVER")
	b.flag(boolValue{&s.EgressOff}, "egress-off", "never decide egress, whatever the policy says", "RAMPART_EGRESS_OFF")
	b.all.Lookup("egress-off").NoOptDefVal = "true" // --egress-off alone means true
	b.flag(stringValue{&s.EgressGateway}, "egress-gateway", "egress gateway's HBONE address (host:port); connections to --egress-gateway-hosts go there over mTLS and are never dialled from this pod", "RAMPART_EGRESS_GATEWAY")
	b.flag(stringValue{&s.EgressGatewayID}, "egress-gateway-id", "SPIFFE ID the egress gateway must present", "RAMPART_EGRESS_GATEWAY_ID")
	b.flag(hostList(&s.EgressGatewayHosts), "egress-gateway-hosts", "names routed through the egress gateway (github.com, *.github.com for subdomains only)", "RAMPART_EGRESS_GATEWAY_HOSTS")
	b.flag(boolValue{&s.ServeEgressGateway}, "serve-egress-gateway", "be the egress gateway: decide CONNECT streams on --listen-hbone as the peer's egress (its SPIFFE ID and labels) and dial them from here", "RAMPART_SERVE_EGRESS_GATEWAY")
	b.all.Lookup("serve-egress-gateway").NoOptDefVal = "true"
}

// hostList is a list of DNS names, "*." allowed in front.
func hostList(p *[]string) listValue[string] {
	return listValue[string]{p, func(s string) (string, error) {
		n, ip, err := tlshello.NormalName(strings.TrimPrefix(s, "*."))
		if err != nil || ip {
			return "", fmt.Errorf("%q is not a DNS name", s)
		}
		if strings.HasPrefix(s, "*.") {
			n = "*." + n
		}
		return n, nil
	}, "names"}
}

// egress fills the outbound egress options.
func (s *settings) egress(o *sidecar.Options) error {
	e := &o.Outbound.Egress
	e.Off, e.ServeGateway = s.EgressOff, s.ServeEgressGateway
	if s.EgressGateway != "" {
		if _, err := spiffeid.FromString(s.EgressGatewayID); err != nil {
			return fmt.Errorf("--egress-gateway-id: %w", err)
		}
		if _, _, err := net.SplitHostPort(s.EgressGateway); err != nil {
			return fmt.Errorf("--egress-gateway: %w", err)
		}
		e.Gateway = sidecar.GatewayRoute{Addr: s.EgressGateway, Identity: s.EgressGatewayID, Hosts: s.EgressGatewayHosts}
	} else if len(s.EgressGatewayHosts) > 0 {
		return errors.New("--egress-gateway-hosts needs --egress-gateway")
	}
	if !s.EgressResolver.IsValid() {
		return nil
	}
	addr := s.EgressResolver.String()
	e.Resolver = &net.Resolver{PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	return nil
}
