package outbound

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawio"
)

// peerKey names one destination proxy: its address and the identity it must
// present. Two keys never share a connection, so an identity check made at
// handshake time holds for every stream on it.
type peerKey struct {
	addr netip.AddrPort
	id   spiffeid.ID
}

// pool keeps the HBONE connections: normally one per destination proxy, a second
// only when the first has no free stream.
type pool struct {
	cfg     hbone.Config
	tls     ClientTLS
	dialer  net.Dialer
	opts    *Options
	metrics *metrics

	mu      sync.Mutex
	conns   map[peerKey][]*hbone.Conn
	dialing map[peerKey]*dialCall
}

type dialCall struct {
	done chan struct{}
	err  error
}

func newPool(opts *Options, m *metrics) *pool {
	return &pool{
		cfg: hbone.Config{
			IdleTimeout:  opts.IdleTimeout,
			PingInterval: opts.IdleTimeout / 3, // ping a quiet peer to find dead conns
			PingTimeout:  opts.ConnectTimeout,
			Logger:       opts.Logger,
		},
		tls: opts.TLS, opts: opts, metrics: m,
		dialer:  net.Dialer{Timeout: opts.ConnectTimeout},
		conns:   map[peerKey][]*hbone.Conn{},
		dialing: map[peerKey]*dialCall{},
	}
}

// get returns a connection to key with one stream reserved for the caller.
func (p *pool) get(ctx context.Context, key peerKey) (*hbone.Conn, error) {
	for {
		p.mu.Lock()
		if cc := p.reserveLocked(key); cc != nil {
			p.mu.Unlock()
			return cc, nil
		}
		if d := p.dialing[key]; d != nil {
			p.mu.Unlock()
			select {
			case <-d.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if d.err != nil {
				return nil, d.err
			}
			continue
		}
		d := &dialCall{done: make(chan struct{})}
		p.dialing[key] = d
		p.mu.Unlock()
		d.err = p.dial(key)
		p.mu.Lock()
		delete(p.dialing, key)
		p.mu.Unlock()
		close(d.done)
		if d.err != nil {
			return nil, d.err
		}
	}
}

// reserveLocked returns a live connection with a free stream, dropping dead ones.
func (p *pool) reserveLocked(key peerKey) *hbone.Conn {
	list := p.conns[key]
	live := list[:0]
	var found *hbone.Conn
	for _, cc := range list {
		if cc.Closing() {
			continue
		}
		live = append(live, cc)
		if found == nil && cc.Reserve() {
			found = cc
		}
	}
	if len(live) < len(list) { // the pool shrank: recount (not on every connect)
		clear(list[len(live):])
		p.conns[key] = live
		p.metrics.poolSize.Set(float64(p.countLocked()))
	}
	return found
}

func (p *pool) countLocked() int {
	n := 0
	for _, l := range p.conns {
		n += len(l)
	}
	return n
}

// dial opens one mTLS connection. It does not use the caller's context: other
// callers wait for the same dial, which the connect timeout bounds.
func (p *pool) dial(key peerKey) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.ConnectTimeout)
	defer cancel()
	raw, err := p.dialer.DialContext(ctx, "tcp", key.addr.String())
	if err != nil {
		p.metrics.handshakes.WithLabelValues("connect_error").Inc()
		return fmt.Errorf("dial %s: %w", key.addr, err)
	}
	conn := tls.Client(rawio.Wrap(raw), p.tls(key.id))
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		p.metrics.handshakes.WithLabelValues("refused").Inc()
		return &HandshakeError{Addr: key.addr, Want: key.id, Err: err}
	}
	p.metrics.handshakes.WithLabelValues("ok").Inc()
	cc, err := hbone.Client(conn, p.cfg)
	if err != nil {
		return fmt.Errorf("http2 %s: %w", key.addr, err)
	}
	p.mu.Lock()
	p.conns[key] = append(p.conns[key], cc)
	p.metrics.poolSize.Set(float64(p.countLocked()))
	p.mu.Unlock()
	return nil
}

// close shuts every pooled connection, letting open streams finish until ctx ends.
func (p *pool) close(ctx context.Context) {
	p.mu.Lock()
	all := p.conns
	p.conns = map[peerKey][]*hbone.Conn{}
	p.mu.Unlock()
	var wg sync.WaitGroup // each waits for its streams and a moment after GOAWAY
	for _, list := range all {
		for _, cc := range list {
			wg.Go(func() { _ = cc.Shutdown(ctx) })
		}
	}
	wg.Wait()
}

// HandshakeError is a refused or failed mTLS handshake with a destination proxy,
// for example one presenting the wrong SPIFFE ID.
type HandshakeError struct {
	Addr netip.AddrPort
	Want spiffeid.ID
	Err  error
}

func (e *HandshakeError) Error() string {
	want := e.Want.String()
	if e.Want.IsZero() {
		want = "any"
	}
	return fmt.Sprintf("mtls handshake with %s (want %s): %v", e.Addr, want, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }
