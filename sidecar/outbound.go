package sidecar

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/discovery"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// OutboundOptions configure the client side: the capture listener (15001) and
// explicit routes.
type OutboundOptions struct {
	// CaptureAddr is the listener for redirected connections ("127.0.0.1:15001"
	// in a pod); "" = off.
	CaptureAddr string
	// Routes are explicit local listeners, each to one destination.
	Routes []outbound.Route
	// RegistryFile is a discovery registry (see discovery.LoadFile), reloaded when
	// it changes. It also resolves peers for source.labels when the inbound side
	// has no Workloads of its own.
	RegistryFile string
	// Resolver, when set, wins over RegistryFile and Options.Discovery (tests,
	// embedding).
	Resolver discovery.Resolver
	// Egress configures egress decisions (see EgressOptions).
	Egress EgressOptions
	// Tuning holds timeouts and ports (outbound.Options: TunnelPort,
	// ConnectTimeout, EjectFor, IdleTimeout); the other fields are filled by Run.
	Tuning outbound.Options
}

// AdminOptions configure the admin listener (15020).
type AdminOptions struct {
	// Addr is the admin listener (":15020" in a pod); "" = off.
	Addr string
	// AppProbes is RAMPART_APP_PROBES, the app probes the injector rewrote.
	AppProbes string
}

func (o *OutboundOptions) enabled() bool { return o.CaptureAddr != "" || len(o.Routes) > 0 }

// newOutbound builds the outbound proxy and one serveFunc per listener.
func newOutbound(opts *Options, res discovery.Resolver, src identity.Source, engine *rego.Engine) ([]serveFunc, error) {
	o := opts.Outbound
	if !o.enabled() {
		return nil, nil
	}
	t := o.Tuning
	t.Routes, t.Resolver = o.Routes, res
	t.Logger, t.Registerer = opts.Logger, opts.Registerer
	if src != nil {
		t.TLS = clientTLS(src, opts.Identity.TrustDomain)
	}
	gw, late, err := gatewayRoute(o.Egress.Gateway, src)
	if err != nil {
		return nil, err
	}
	if !o.Egress.ServeGateway { // the gateway has no app whose egress to decide
		g, err := newEgress(opts, engine, src, gw)
		if err != nil {
			return nil, fmt.Errorf("sidecar: %w", err)
		}
		if g != nil {
			t.Egress = g
		}
	}
	for _, r := range o.Routes {
		if src == nil && !r.Plain {
			return nil, fmt.Errorf("sidecar: route %s=%s tunnels to a peer proxy and needs an identity "+
				"(--svid-dir, --ca-dir, --ca-addr or --workload-api), or add ,plain to skip the tunnel", r.Listen, r.Destination)
		}
	}
	p, err := outbound.New(t)
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	late.p = p // before any listener serves
	drain := func(serve func(net.Listener) error) func(context.Context, net.Listener) error {
		return func(ctx context.Context, ln net.Listener) error {
			errc := make(chan error, 1)
			go func() { errc <- serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			dctx, cancel := context.WithTimeout(context.Background(), opts.DrainTimeout)
			defer cancel()
			return p.Shutdown(dctx) // every listener shares one proxy: Shutdown is idempotent
		}
	}
	var out []serveFunc
	if o.CaptureAddr != "" {
		out = append(out, serveFunc{"outbound " + o.CaptureAddr, o.CaptureAddr, drain(p.ServeCapture), true})
	}
	for i, r := range o.Routes {
		out = append(out, serveFunc{"route " + r.Listen + " → " + r.Destination, r.Listen,
			drain(func(ln net.Listener) error { return p.ServeRoute(ln, i) }), true})
	}
	return out, nil
}

// clientTLS checks the destination proxy's SVID against the expected ID, or
// against the trust domain when the destination's identity is unknown.
func clientTLS(src identity.Source, trustDomain string) outbound.ClientTLS {
	td, _ := spiffeid.TrustDomainFromString(trustDomain) // validated by svidSource
	return func(server spiffeid.ID) *tls.Config {
		allow := identity.AllowTrustDomain(td)
		if !server.IsZero() {
			allow = identity.AllowID(server)
		}
		return identity.ClientConfig(src, allow, identity.TLSOptions{})
	}
}

// resolverWorkloads lets the inbound side read source.labels from discovery; the
// inbound server itself checks them against the peer's SPIFFE ID.
type resolverWorkloads struct{ r discovery.Resolver }

func (w resolverWorkloads) Workload(addr netip.Addr) (inbound.Workload, bool) {
	d, ok := w.r.Workload(addr)
	if !ok {
		return inbound.Workload{}, false
	}
	return inbound.Workload{Namespace: d.Namespace, ServiceAccount: d.ServiceAccount, Labels: d.Labels}, true
}
