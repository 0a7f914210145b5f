package inbound

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawio"
)

// upConn is one kept-alive HTTP/1.1 connection to the app.
type upConn struct {
	net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	resp  httpx.Response   // the response being relayed, valid until the conn is
	body  httpx.BodyReader // released; one per conn, not per request
	peek  *peeker
	addr  string
	since time.Time // when it went idle
}

// upstreamPool keeps idle HTTP/1.1 connections to the app per address, so each
// request does not pay a connect.
type upstreamPool struct {
	mu       sync.Mutex
	idle     map[string][]*upConn
	maxIdle  int
	timeouts Timeouts
	dialer   net.Dialer
}

func newUpstreamPool(maxIdle int, t Timeouts) *upstreamPool {
	return &upstreamPool{idle: map[string][]*upConn{}, maxIdle: maxIdle, timeouts: t,
		dialer: net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}}
}

func (p *upstreamPool) dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial upstream %s: %w", addr, err)
	}
	return rawio.Wrap(c), nil // raw reads and writes: see rawio
}

// get returns an idle connection (reused=true) or a new one.
func (p *upstreamPool) get(ctx context.Context, addr string) (*upConn, bool, error) {
	if c := p.takeIdle(addr); c != nil {
		return c, true, nil
	}
	c, err := p.dial(ctx, addr)
	if err != nil {
		return nil, false, err
	}
	// Reads and writes refresh their deadlines: the app may stream for long, but
	// may not stall for longer than the Response (reads) or Idle (writes) timeout.
	return &upConn{
		Conn: c, addr: addr, peek: newPeeker(c),
		br: bufio.NewReaderSize(&deadlineReader{r: c, c: c, d: p.timeouts.Response}, 16<<10),
		bw: bufio.NewWriterSize(&deadlineWriter{c: c, d: p.timeouts.Idle}, 16<<10),
	}, false, nil
}

func (p *upstreamPool) takeIdle(addr string) *upConn {
	for {
		c := p.pop(addr)
		if c == nil || c.alive() && time.Since(c.since) < p.timeouts.Idle {
			return c
		}
		c.Close()
	}
}

func (p *upstreamPool) pop(addr string) *upConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[addr]
	if len(list) == 0 {
		return nil
	}
	c := list[len(list)-1]
	p.idle[addr] = list[:len(list)-1]
	return c
}

// alive checks, without blocking, that the app has neither closed an idle
// connection nor sent on it. Apps time out keep-alive connections, and a request
// with a body sent on a closed one could not be retried. Bytes nobody asked for
// (a body after a HEAD response, more body than Content-Length said) would be read
// as the answer to the next request, which may come from another client: the pool
// is shared, so that would hand one client's response to another.
//
// The check runs on every reuse, however briefly the connection was idle. Skipping
// it for a connection idle less than some threshold looks cheap but is not sound:
// stray bytes arrive right after the response they follow, so a connection reused
// quickly (under load: always) is exactly the one whose stray bytes would be missed.
// It is made cheap instead: one recvfrom, no allocation (see peeker).
func (c *upConn) alive() bool {
	if c.br.Buffered() > 0 {
		return false // the app sent something nobody asked for
	}
	return c.peek.peerOpen()
}

// put returns a connection whose response was read to the end. Its deadlines stay:
// clearing them was two timer updates per request. A connection idle for so long
// that its read deadline (Response after its last read, 15/16 of that at least)
// passed fails the liveness peek and is replaced by a new one, which is safe.
func (p *upstreamPool) put(c *upConn) {
	c.since = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[c.addr]) >= p.maxIdle {
		c.Close()
		return
	}
	p.idle[c.addr] = append(p.idle[c.addr], c)
}

func (p *upstreamPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, list := range p.idle {
		for _, c := range list {
			c.Close()
		}
		delete(p.idle, addr)
	}
}
