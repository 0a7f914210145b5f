package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/egress/tlshello"
	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// Decider decides egress; *rego.Engine is one.
type Decider interface {
	EgressEnforced(ctx context.Context, src rego.EgressSource) bool
	DecideEgress(ctx context.Context, in *rego.EgressInput) rego.Decision
	RefuseEgress(in *rego.EgressInput, reason string) rego.Decision
}

// Resolver answers the names destinations are checked against; *net.Resolver is
// one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Conn is the app's side of a connection: a captured TCP connection in a pod,
// an HBONE stream at the egress gateway.
type Conn interface {
	net.Conn
	// CloseWrite half-closes: the peer reads EOF, answers still come back.
	CloseWrite() error
}

// Options configure a Guard. The zero value of a field means its default.
type Options struct {
	// Decider decides. Required.
	Decider Decider
	// Source is this pod: its SPIFFE ID, namespace and labels.
	Source rego.EgressSource
	// Resolver checks that a destination is among its name's addresses. Default
	// net.DefaultResolver.
	Resolver Resolver
	// HelloTimeout bounds the wait for the app's first bytes (and a whole
	// ClientHello); an app that sends nothing by then is decided by address.
	// Default 1s.
	HelloTimeout time.Duration
	// MaxHello bounds a ClientHello. Default tlshello.DefaultMaxBytes (64 KiB).
	MaxHello int
	// ConnectTimeout bounds dialling the destination. Default 2s.
	ConnectTimeout time.Duration
	// DecideTimeout bounds name resolution plus the decision. Default 2s.
	DecideTimeout time.Duration
	// HTTP bounds and shapes plaintext requests (httpx.Config).
	HTTP httpx.Config
	// MaxHostLabels bounds the distinct host label values of the metric.
	// Default 100.
	MaxHostLabels int
	// Registerer receives rampart_egress_decisions_total. Default: none.
	Registerer prometheus.Registerer
	// Logger receives denials. Default: discarded.
	Logger *slog.Logger
	// Gateway, when set, routes its names through the egress gateway (see
	// Gateway). With a gateway, every connection is sniffed for its name even
	// when the policy does not decide egress for this pod. Default: none.
	Gateway *Gateway
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HelloTimeout, time.Second)
	def(&o.ConnectTimeout, 2*time.Second)
	def(&o.DecideTimeout, 2*time.Second)
	o.HTTP = o.HTTP.WithDefaults() // body and header bounds, slash rule
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.MaxHello <= 0 {
		o.MaxHello = tlshello.DefaultMaxBytes
	}
	if o.MaxHostLabels <= 0 {
		o.MaxHostLabels = 100
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Guard decides and carries egress connections. It is safe for concurrent use.
type Guard struct {
	opts    Options
	metrics *metrics
	gw      *Gateway
	routes  hostSet
	// pass is set on a connection's copy of the guard when the policy does not
	// decide this pod's egress but a gateway is configured: names are still
	// routed and checked against their addresses, nothing else is decided.
	pass bool
}

// New checks opts and registers the metric.
func New(opts Options) (*Guard, error) {
	if opts.Decider == nil {
		return nil, errors.New("egress: no decider")
	}
	opts.setDefaults()
	m, err := newMetrics(opts.Registerer, opts.MaxHostLabels)
	if err != nil {
		return nil, fmt.Errorf("egress: metrics: %w", err)
	}
	g := &Guard{opts: opts, metrics: m, gw: opts.Gateway}
	if g.gw != nil {
		if g.gw.Dial == nil {
			return nil, errors.New("egress: gateway without Dial")
		}
		if g.routes, err = newHostSet(g.gw.Hosts); err != nil {
			return nil, fmt.Errorf("egress: %w", err)
		}
	}
	return g, nil
}

// Enforced reports whether egress is decided for this pod (the loaded policy has
// egress rules that apply to it) or routed through a gateway. When not, callers
// pass connections through.
func (g *Guard) Enforced(ctx context.Context) bool {
	return g.gw != nil || g.opts.Decider.EgressEnforced(ctx, g.opts.Source)
}

// Serve decides the app's connection to dst and, when allowed, carries it until
// either side is done. It closes nothing: the caller closes app.
func (g *Guard) Serve(ctx context.Context, app *net.TCPConn, dst netip.AddrPort) {
	if g.gw != nil && !g.opts.Decider.EgressEnforced(ctx, g.opts.Source) {
		c := *g
		c.pass = true
		g = &c
	}
	g.serve(ctx, app, dst)
}

// ServeGateway decides, at the egress gateway, a connection src tunnelled to
// dst: with src's identity and labels, the same anti-spoof check, and always
// (a gateway has no "not enforced": a source without rules is denied). It
// closes nothing.
func (g *Guard) ServeGateway(ctx context.Context, app Conn, src rego.EgressSource, dst netip.AddrPort) {
	c := *g
	c.opts.Source, c.gw, c.pass = src, nil, false
	c.serve(ctx, app, dst)
}

func (g *Guard) serve(ctx context.Context, app Conn, dst netip.AddrPort) {
	_ = app.SetReadDeadline(time.Now().Add(g.opts.HelloTimeout))
	br := bufio.NewReaderSize(app, 4096)
	switch sniff(br) {
	case protoTLS:
		g.serveTLS(ctx, app, br, dst)
	case protoHTTP:
		if isH2Preface(br) {
			g.serveH2C(ctx, app, br, dst)
			return
		}
		g.serveHTTP(ctx, app, br, dst)
	default:
		g.serveTCP(ctx, app, br, dst, nil)
	}
}

func (g *Guard) input(dst netip.AddrPort, proto string) *rego.EgressInput {
	return &rego.EgressInput{Source: g.opts.Source, Destination: rego.EgressDestination{
		IP: dst.Addr().Unmap().String(), Port: dst.Port(), Protocol: proto}}
}

// decide checks that dst is among the addresses of in's host (when it names
// one), then asks the policy.
func (g *Guard) decide(ctx context.Context, in *rego.EgressInput, dst netip.AddrPort) rego.Decision {
	ctx, cancel := context.WithTimeout(ctx, g.opts.DecideTimeout)
	defer cancel()
	d := g.decideChecked(ctx, in, dst)
	if g.pass && d.Allowed {
		return d // passthrough is not counted as a decision
	}
	g.metrics.decided(in, d)
	if !d.Allowed {
		g.opts.Logger.Info("egress denied", "protocol", in.Destination.Protocol,
			"host", in.Destination.Host, "sni", in.Destination.SNI, "destination", dst,
			"reason", d.Reason, "decision_id", d.ID)
	}
	return d
}

func (g *Guard) decideChecked(ctx context.Context, in *rego.EgressInput, dst netip.AddrPort) rego.Decision {
	if host := in.Destination.Host; host != "" {
		if err := g.resolvesTo(ctx, host, dst.Addr()); err != nil {
			return g.opts.Decider.RefuseEgress(in, err.Error())
		}
	}
	if g.pass {
		return rego.Decision{Allowed: true} // not decided here, as passthrough
	}
	return g.opts.Decider.DecideEgress(ctx, in)
}

// resolvesTo fails unless addr is one of host's addresses.
func (g *Guard) resolvesTo(ctx context.Context, host string, addr netip.Addr) error {
	ips, err := g.opts.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("cannot verify %s: %w", host, err)
	}
	addr = addr.Unmap()
	for _, ip := range ips {
		if ip.Unmap() == addr {
			return nil
		}
	}
	return fmt.Errorf("%s is not an address of %s", addr, host)
}

// dial connects to the app's original destination.
func (g *Guard) dial(ctx context.Context, dst netip.AddrPort) (*net.TCPConn, error) {
	ctx, cancel := context.WithTimeout(ctx, g.opts.ConnectTimeout)
	defer cancel()
	d := net.Dialer{}
	d.SetMultipathTCP(false)
	c, err := d.DialContext(ctx, "tcp", dst.String())
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", dst, err)
	}
	return c.(*net.TCPConn), nil
}
