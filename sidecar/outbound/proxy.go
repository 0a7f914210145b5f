package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
	"github.com/rampart-mesh/rampart/sidecar/internal/gopool"
)

// Proxy is the outbound proxy. Create it with New, then Run it (or hand it
// listeners with ServeCapture and ServeRoute).
type Proxy struct {
	opts    Options
	routes  []route
	pool    *pool
	bal     *discovery.Balancer
	metrics *metrics
	// workers runs each connection's handler and its upload copy on kept
	// goroutines (gopool), which keep their grown stacks.
	workers gopool.Pool

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	active    sync.WaitGroup
	closing   bool
}

// New validates opts and registers the metrics.
func New(opts Options) (*Proxy, error) {
	opts.setDefaults()
	routes, err := opts.routes()
	if err != nil {
		return nil, fmt.Errorf("outbound: %w", err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("outbound: metrics: %w", err)
	}
	return &Proxy{opts: opts, routes: routes, metrics: m, pool: newPool(&opts, m),
		bal: discovery.NewBalancerWith(discovery.BalancerOptions{Policy: opts.Balancing, EjectFor: opts.EjectFor}), listeners: map[net.Listener]struct{}{},
		conns: map[net.Conn]struct{}{}}, nil
}

// Run opens the capture listener and every route listener, serves them until ctx
// ends, then stops accepting and drains (see Shutdown). A listener that cannot be
// opened is an error before anything is served.
func (p *Proxy) Run(ctx context.Context) error {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false) // MPTCP sockets cannot go into a sockhash (sk_msg)
	lc.KeepAlive = -1         // the peers are local apps: no keep-alive probes (four setsockopt per accept)
	type serve func() error
	var serves []serve
	if p.opts.Capture != "" {
		l, err := lc.Listen(ctx, "tcp", p.opts.Capture)
		if err != nil {
			p.closeListeners()
			return fmt.Errorf("outbound: capture listener: %w", err)
		}
		p.track(l)
		serves = append(serves, func() error { return p.ServeCapture(l) })
	}
	for i := range p.routes {
		r := p.routes[i]
		l, err := lc.Listen(ctx, "tcp", r.Listen)
		if err != nil {
			p.closeListeners()
			return fmt.Errorf("outbound: route listener: %w", err)
		}
		p.track(l)
		serves = append(serves, func() error { return p.serve(l, &r) })
	}
	errc := make(chan error, len(serves))
	for _, s := range serves {
		go func() { errc <- s() }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		p.shutdownNow()
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), p.opts.DrainTimeout)
	defer cancel()
	return p.Shutdown(sctx)
}

// ServeCapture accepts redirected connections on l until l is closed.
func (p *Proxy) ServeCapture(l net.Listener) error { return p.serve(l, nil) }

// ServeRoute accepts connections for the route at index i of Options.Routes.
func (p *Proxy) ServeRoute(l net.Listener, i int) error { return p.serve(l, &p.routes[i]) }

func (p *Proxy) serve(l net.Listener, r *route) error {
	p.track(l)
	for {
		c, err := l.Accept()
		if err != nil {
			if p.isClosing() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("outbound: accept: %w", err)
		}
		if !p.add(c) {
			c.Close()
			return nil
		}
		p.workers.Go(func() {
			defer p.done(c)
			p.handle(c.(*net.TCPConn), r)
		})
	}
}

// Shutdown stops accepting, waits for open connections until ctx ends, then
// closes what is left and the pooled HBONE connections.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.closeListeners()
	drained := make(chan struct{})
	go func() { p.active.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("outbound: drain: %w", ctx.Err())
		p.shutdownNow()
	}
	pctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	p.pool.close(pctx)
	return err
}

func (p *Proxy) shutdownNow() {
	p.closeListeners()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *Proxy) track(l net.Listener) {
	p.mu.Lock()
	p.listeners[l] = struct{}{}
	p.mu.Unlock()
}

func (p *Proxy) closeListeners() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closing = true
	for l := range p.listeners {
		l.Close()
	}
}

func (p *Proxy) isClosing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closing
}

func (p *Proxy) add(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return false
	}
	p.conns[c] = struct{}{}
	p.active.Add(1)
	p.metrics.active.Inc()
	return true
}

func (p *Proxy) done(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	p.metrics.active.Dec()
	p.active.Done()
}
