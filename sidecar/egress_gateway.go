package sidecar

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/egress"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// gatewayServer makes the inbound side the egress gateway when asked: an egress
// guard of its own decides each tunnelled connection with its peer as source.
func gatewayServer(opts *Options, engine *rego.Engine, src identity.Source) error {
	if !opts.Outbound.Egress.ServeGateway {
		return nil
	}
	if engine == nil || opts.Outbound.Egress.Off {
		return errors.New("sidecar: the egress gateway needs a policy bundle and egress on")
	}
	if opts.Inbound.HBONEAddr == "" || src == nil {
		return errors.New("sidecar: the egress gateway needs the HBONE listener and an identity")
	}
	g, err := newEgress(opts, engine, src, nil)
	if err != nil {
		return fmt.Errorf("sidecar: gateway: %w", err)
	}
	opts.Inbound.Tuning.Gateway = func(ctx context.Context, c inbound.GatewayConn, s rego.EgressSource, dst netip.AddrPort) {
		g.ServeGateway(ctx, c, s, dst)
	}
	return nil
}

// lateProxy lets the egress guard, built before the outbound proxy it dials
// through, reach that proxy once it exists.
type lateProxy struct{ p *outbound.Proxy }

// gatewayRoute builds the pod side's route to the egress gateway, or nil when
// none is configured.
func gatewayRoute(r GatewayRoute, src identity.Source) (*egress.Gateway, *lateProxy, error) {
	late := &lateProxy{}
	if r.Addr == "" {
		return nil, late, nil
	}
	if src == nil {
		return nil, nil, errors.New("sidecar: the egress gateway route needs an identity")
	}
	id, err := spiffeid.FromString(r.Identity)
	if err != nil {
		return nil, nil, fmt.Errorf("sidecar: egress gateway identity: %w", err)
	}
	host, port, err := net.SplitHostPort(r.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("sidecar: egress gateway address: %w", err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, nil, fmt.Errorf("sidecar: egress gateway port: %w", err)
	}
	dial := func(ctx context.Context, dst netip.AddrPort) (egress.Conn, error) {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("egress gateway %s: %v", host, err)
		}
		return late.p.DialTunnel(ctx, netip.AddrPortFrom(ips[0].Unmap(), uint16(p)), id, dst)
	}
	return &egress.Gateway{Hosts: r.Hosts, Dial: dial}, late, nil
}
