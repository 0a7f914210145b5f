package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// target is where one app connection goes.
type target struct {
	dst   netip.AddrPort // app address on the far side (CONNECT authority)
	proxy netip.AddrPort // destination proxy (HBONE); unset when plain
	id    spiffeid.ID    // identity the destination proxy must present
	plain bool
	check bool // the capture check's sentinel: answered here, never dialled
	eject bool // an endpoint chosen by the balancer: eject it when it fails
	// release ends the connection's count at the balancer (least-requests).
	release func()
}

func (p *Proxy) handle(app *net.TCPConn, r *route) {
	t, err := p.target(app, r)
	if t.release != nil {
		defer t.release()
	}
	if err != nil {
		p.metrics.connections.WithLabelValues("unknown", "error").Inc()
		p.opts.Logger.Warn("outbound: no destination", "client", app.RemoteAddr().String(), "err", err)
		return
	}
	if t.check {
		p.answerCheck(app)
		return
	}
	if t.plain && r == nil && p.opts.Egress != nil && p.opts.Egress.Enforced(context.Background()) {
		// Decided before any byte leaves; the guard logs and counts its outcome.
		p.opts.Egress.Serve(context.Background(), app, t.dst)
		p.metrics.connections.WithLabelValues("egress", "ok").Inc()
		return
	}
	kind := "hbone"
	if t.plain {
		kind = "passthrough"
	}
	start := time.Now()
	var read []byte
	if t.plain {
		err = p.passthrough(app, t, start)
	} else {
		read, err = p.tunnel(app, t, start)
	}
	if err != nil {
		p.fail(app, t, kind, err, read)
		return
	}
	p.metrics.connections.WithLabelValues(kind, "ok").Inc()
}

// target decides where the connection goes: the route's destination, or the
// original destination resolved through discovery.
func (p *Proxy) target(app *net.TCPConn, r *route) (target, error) {
	if r != nil {
		return target{dst: r.dst, proxy: r.proxy, id: r.id, plain: r.Plain}, nil
	}
	orig, err := OriginalDst(app)
	if err != nil {
		return target{}, err
	}
	if orig == CheckAddr() {
		return target{dst: orig, check: true}, nil
	}
	return p.resolve(orig)
}

func (p *Proxy) resolve(orig netip.AddrPort) (target, error) {
	res := p.opts.Resolver
	if res == nil {
		return target{dst: orig, plain: true}, nil
	}
	if eps, ok := res.Endpoints(orig); ok {
		ep, release, err := p.bal.Acquire(eps)
		if err != nil {
			return target{}, fmt.Errorf("%s: %w", orig, err)
		}
		t, err := p.endpointTarget(ep)
		t.eject, t.release = true, release
		return t, err
	}
	if w, ok := res.Workload(orig.Addr()); ok {
		return p.endpointTarget(discovery.Endpoint{Workload: w, Addr: orig})
	}
	return target{dst: orig, plain: true}, nil
}

func (p *Proxy) endpointTarget(ep discovery.Endpoint) (target, error) {
	if !ep.Meshed {
		return target{dst: ep.Addr, plain: true}, nil
	}
	if p.opts.TLS == nil {
		return target{}, fmt.Errorf("%s is meshed but no client TLS is configured", ep.Addr)
	}
	t := target{dst: ep.Addr, proxy: netip.AddrPortFrom(ep.Addr.Addr(), p.opts.TunnelPort)}
	if ep.Identity != "" {
		id, err := spiffeid.FromString(ep.Identity)
		if err != nil {
			return target{}, fmt.Errorf("%s: identity: %w", ep.Addr, err)
		}
		t.id = id
	}
	return t, nil
}

// fail ejects the endpoint, logs, and tells an HTTP/1 client 503 so it does not
// mistake the failure for an empty response (read: the app's first bytes, if
// they were already taken).
func (p *Proxy) fail(app *net.TCPConn, t target, kind string, err error, read []byte) {
	result := "error"
	var hs *HandshakeError
	if errors.As(err, &hs) {
		result = "refused"
		p.opts.Logger.Error("outbound: destination proxy refused", "proxy", t.proxy,
			"destination", t.dst, "err", err)
	} else {
		p.opts.Logger.Warn("outbound: connect failed", "destination", t.dst, "err", err)
	}
	p.metrics.connections.WithLabelValues(kind, result).Inc()
	var status *hbone.StatusError
	if t.eject && !errors.As(err, &status) { // a proxy that answered is alive
		p.bal.Fail(t.dst)
	}
	reply503(app, read)
}

func (p *Proxy) passthrough(app *net.TCPConn, t target, start time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.ConnectTimeout)
	defer cancel()
	d := net.Dialer{}
	d.SetMultipathTCP(false)
	c, err := d.DialContext(ctx, "tcp", t.dst.String())
	if err != nil {
		return fmt.Errorf("dial %s: %w", t.dst, err)
	}
	defer c.Close()
	p.metrics.connectTime.Observe(time.Since(start).Seconds())
	splice(app, c.(*net.TCPConn))
	return nil
}
