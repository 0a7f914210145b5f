package outbound

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// tunnel carries app over one HBONE stream: CONNECT dst on a pooled connection to
// the destination proxy. The HTTP/2 transport reads the app's bytes itself (the
// request body is the app connection), so the upstream direction costs no extra
// goroutine or copy.
func (p *Proxy) tunnel(app *net.TCPConn, t target, start time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.ConnectTimeout)
	cc, err := p.pool.get(ctx, peerKey{addr: t.proxy, id: t.id})
	cancel()
	if err != nil {
		return err
	}
	body := &appBody{c: app}
	authority := t.dst.String()
	req := &http.Request{
		Method: http.MethodConnect, URL: &url.URL{Host: authority}, Host: authority,
		Proto: "HTTP/2.0", ProtoMajor: 2, Header: noUserAgent, Body: body, ContentLength: -1,
	}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return &upstreamError{fmt.Errorf("connect %s via %s: %w", authority, t.proxy, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The destination proxy refused the stream (L4 deny, app unreachable): say
		// so the same way a failed connect does.
		return &upstreamError{fmt.Errorf("connect %s via %s: status %d", authority, t.proxy, resp.StatusCode)}
	}
	p.metrics.connectTime.Observe(time.Since(start).Seconds())
	_ = copyPooled(app, resp.Body)
	_ = app.CloseWrite()
	// The far side is done. Closing the response cancels the stream, which closes
	// the request body (our read side of the app connection) if it is still open.
	resp.Body.Close()
	body.wait()
	return nil
}

// noUserAgent keeps the transport from adding a user-agent to every CONNECT; it
// is never modified.
var noUserAgent = http.Header{"User-Agent": {""}}

// appBody is the CONNECT request body: reads come straight from the app
// connection, and Close (called by the transport when the stream ends) stops
// reading by shutting the read side, which unblocks a pending Read.
type appBody struct {
	c    *net.TCPConn
	once sync.Once
	done chan struct{}
	mu   sync.Mutex
}

func (b *appBody) Read(p []byte) (int, error) { return b.c.Read(p) }

func (b *appBody) Close() error {
	b.once.Do(func() {
		_ = b.c.CloseRead()
		b.mu.Lock()
		if b.done != nil {
			close(b.done)
		}
		b.done = closedChan
		b.mu.Unlock()
	})
	return nil
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// wait returns once the transport has closed the body, or after a second: the
// transport closes it when it cancels the stream, and we must not leak the app
// connection if it does not.
func (b *appBody) wait() {
	b.mu.Lock()
	if b.done == nil {
		b.done = make(chan struct{})
	}
	done := b.done
	b.mu.Unlock()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}
