package outbound

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/sidecar/discovery"

	"github.com/rampart-mesh/rampart/sidecar/contract"
)

// ClientTLS returns the mTLS client config for a connection to a destination
// proxy that must present server (zero ID: any member of the trust domain).
// Callers build it from identity.ClientConfig with identity.AllowID.
type ClientTLS func(server spiffeid.ID) *tls.Config

// Egress decides and carries an app's connection to a destination outside the
// mesh.
type Egress interface {
	// Enforced reports whether egress is decided for this pod now.
	Enforced(ctx context.Context) bool
	// Serve decides the connection to dst and, when allowed, carries it.
	Serve(ctx context.Context, app *net.TCPConn, dst netip.AddrPort)
}

// Route is an explicit mapping from a local listener to one destination.
type Route struct {
	// Listen is the local address ("127.0.0.1:9080"). Required.
	Listen string
	// Destination is the app address on the far side ("10.1.2.3:80"), sent as the
	// CONNECT :authority (or dialled directly when Plain). Required.
	Destination string
	// Identity is the SPIFFE ID the destination proxy must present. Empty: any
	// SPIFFE ID of the trust domain the ClientTLS config trusts.
	Identity string
	// Proxy is the destination proxy's HBONE address. Default: Destination's IP
	// and TunnelPort.
	Proxy string
	// Plain sends the connection straight to Destination with no mesh hop.
	Plain bool
}

// Options configure a Proxy. The zero value of a field means its default.
type Options struct {
	// Capture is the listener for redirected connections, whose destination is
	// read with SO_ORIGINAL_DST. Empty: no capture listener. Sidecars use
	// "127.0.0.1:15001".
	Capture string
	// Routes are explicit listeners.
	Routes []Route
	// Resolver maps captured destinations to endpoints. Default: none (every
	// captured destination is passed through unmeshed).
	Resolver discovery.Resolver
	// TLS builds client configs for HBONE. Required when any destination is meshed.
	TLS ClientTLS
	// TunnelPort is the HBONE port of destination proxies. Default 15008.
	TunnelPort uint16
	// ConnectTimeout bounds reaching a destination (TCP and TLS handshake).
	// Default 2s.
	ConnectTimeout time.Duration
	// EjectFor is how long a failed endpoint stays out of balancing. Default 30s.
	EjectFor time.Duration
	// Balancing spreads connects to a service over its endpoints. Default
	// discovery.LeastRequests (by connections in flight).
	Balancing discovery.Policy
	// IdleTimeout closes pooled HBONE connections with no streams. Default 90s.
	IdleTimeout time.Duration
	// DrainTimeout bounds the wait for open connections on shutdown. Default 5s.
	DrainTimeout time.Duration
	// Egress, when set, decides captured connections to destinations outside the
	// mesh (passthrough) whenever it says egress is enforced; the rest pass
	// through undecided as before. *egress.Guard is one. Explicit routes are not
	// decided: they are configuration, not app traffic.
	Egress Egress
	// Registerer receives the outbound metrics. Default: not registered.
	Registerer prometheus.Registerer
	// Logger receives refused peers and failed connects. Default: discarded.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ConnectTimeout, 2*time.Second)
	def(&o.EjectFor, 30*time.Second)
	def(&o.IdleTimeout, 90*time.Second)
	def(&o.DrainTimeout, 5*time.Second)
	if o.TunnelPort == 0 {
		o.TunnelPort = contract.HBONEPort
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// route is a validated Route.
type route struct {
	Route
	dst   netip.AddrPort
	proxy netip.AddrPort
	id    spiffeid.ID
}

func (o *Options) routes() ([]route, error) {
	out := make([]route, 0, len(o.Routes))
	for i, r := range o.Routes {
		v, err := o.validRoute(r)
		if err != nil {
			return nil, fmt.Errorf("route %d (%s): %w", i, r.Listen, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (o *Options) validRoute(r Route) (route, error) {
	v := route{Route: r}
	var err error
	if r.Listen == "" {
		return v, fmt.Errorf("listen address missing")
	}
	if v.dst, err = netip.ParseAddrPort(r.Destination); err != nil {
		return v, fmt.Errorf("destination: %w", err)
	}
	if r.Plain {
		return v, nil
	}
	if o.TLS == nil {
		return v, fmt.Errorf("meshed route needs client TLS")
	}
	v.proxy = netip.AddrPortFrom(v.dst.Addr(), o.TunnelPort)
	if r.Proxy != "" {
		if v.proxy, err = netip.ParseAddrPort(r.Proxy); err != nil {
			return v, fmt.Errorf("proxy: %w", err)
		}
	}
	if r.Identity != "" {
		if v.id, err = spiffeid.FromString(r.Identity); err != nil {
			return v, fmt.Errorf("identity: %w", err)
		}
	}
	return v, nil
}
