package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/rego"
)

// h2Preface opens an HTTP/2 connection with prior knowledge (RFC 9113 §3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// errConnect refuses CONNECT over h2c.
var errConnect = errors.New("CONNECT: tunnels are not decided by name")

// h2c bounds: what one app connection may hold open at once.
const (
	h2MaxStreams     = 100
	h2MaxHeaderBytes = 64 << 10
	h2IdleTimeout    = 5 * time.Minute
	h2StreamWindow   = 128 << 10 // request body bytes buffered per stream
	h2ConnWindow     = 1 << 20   // ... and per connection
)

// isH2Preface reports whether the app opened with the HTTP/2 preface. It waits
// for 24 bytes at most (the hello timeout bounds the wait).
func isH2Preface(br *bufio.Reader) bool {
	b, err := br.Peek(len(h2Preface))
	return err == nil && string(b) == h2Preface
}

// serveH2C decides an h2c (prior knowledge) connection stream by stream: the
// proxy is the app's HTTP/2 server, decides each request by its :authority with
// the rules of a plaintext Host, answers a denied stream 403 with the policy's
// body, and sends allowed ones over its own h2c connection to the original
// destination. A request carrying a Host header that differs from :authority is
// refused: the destination might read either.
func (g *Guard) serveH2C(ctx context.Context, app Conn, br *bufio.Reader, dst netip.AddrPort) {
	_ = app.SetReadDeadline(time.Time{}) // the h2 server keeps its own timeouts
	up := &http2.Transport{
		AllowHTTP:                  true,
		MaxHeaderListSize:          h2MaxHeaderBytes,
		DisableCompression:         true,
		StrictMaxConcurrentStreams: true,
		DialTLSContext: func(ctx context.Context, _, _ string, _ *tls.Config) (net.Conn, error) {
			return g.dial(ctx, dst) // never the name: the address just checked against it
		},
	}
	defer up.CloseIdleConnections()
	srv := &http2.Server{MaxConcurrentStreams: h2MaxStreams, MaxReadFrameSize: 16 << 10, IdleTimeout: h2IdleTimeout,
		MaxUploadBufferPerStream: h2StreamWindow, MaxUploadBufferPerConnection: h2ConnWindow}
	conn := newH2CConn(app, br)
	srv.ServeConn(conn, &http2.ServeConnOpts{Context: ctx,
		BaseConfig: &http.Server{MaxHeaderBytes: h2MaxHeaderBytes},
		Handler:    http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.h2Stream(w, r, dst, up) })})
}

// h2Stream decides one stream and, when allowed, carries it.
func (g *Guard) h2Stream(w http.ResponseWriter, r *http.Request, dst netip.AddrPort, up http.RoundTripper) {
	in, err := g.h2Input(r, dst)
	var d rego.Decision
	switch {
	case err != nil:
		d = g.refuse(in, err.Error())
	case g.routed(in):
		d = g.throughGateway(in) // h2c prior knowledge is not carried to the gateway
	default:
		d = g.decide(r.Context(), in, dst)
	}
	if !d.Allowed {
		status := d.HTTPStatus
		if status == 0 {
			status = rego.DenyStatus
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, d.Body)
		return
	}
	out := &http.Request{Method: r.Method, URL: r.URL, Host: r.Host, Header: r.Header.Clone(),
		Body: r.Body, ContentLength: r.ContentLength, Trailer: r.Trailer}
	out.URL.Scheme, out.URL.Host = "http", r.Host
	out.Header.Del("Host")
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := up.RoundTrip(out.WithContext(r.Context()))
	if err != nil {
		g.opts.Logger.Warn("egress: h2c upstream failed", "destination", dst, "err", err)
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(flushWriter{w}, resp.Body)
	for k, v := range resp.Trailer {
		w.Header()[http.TrailerPrefix+k] = v
	}
}

// h2Input builds the decision input of an h2c request: its :authority is the
// host, as Host is for HTTP/1; an error is an authority naming no valid DNS name
// or a Host header that disagrees with it.
func (g *Guard) h2Input(r *http.Request, dst netip.AddrPort) (*rego.EgressInput, error) {
	in := g.input(dst, "http")
	in.Request = &rego.EgressRequest{Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host}
	if r.Method == http.MethodConnect {
		return in, errConnect // a tunnel to a name of the app's choosing, as over HTTP/1
	}
	// The HTTP/2 server already resets a stream whose Host differs from its
	// :authority; this keeps the rule should it ever pass one.
	for _, h := range r.Header.Values("Host") {
		if !strings.EqualFold(h, r.Host) {
			in.Destination.Host = hostOnly(strings.ToLower(r.Host))
			return in, fmt.Errorf("Host %q differs from :authority %q", h, r.Host)
		}
	}
	if strings.ContainsAny(r.Host, "@/\\ ") || r.Host == "" {
		return in, fmt.Errorf(":authority %q: not a host", r.Host)
	}
	return g.hostInput(in, r.Host)
}

// h2cConn is the app's side of an h2c connection: it reads what sniffing
// buffered first, and it holds the app's half-close back until the server has
// ended every stream the app opened before it (END_STREAM or RST_STREAM). The
// HTTP/2 server would otherwise drop them at EOF, while an HTTP/1 client that
// half-closes still gets its answers. It learns which streams are open from the
// frame headers passing each way.
type h2cConn struct {
	Conn
	br *bufio.Reader

	mu      sync.Mutex
	changed chan struct{}       // closed and replaced when open shrinks
	open    map[uint32]struct{} // streams the app opened that the server has not ended
	maxID   uint32
	in, out frameScanner
}

func newH2CConn(app Conn, br *bufio.Reader) *h2cConn {
	return &h2cConn{Conn: app, br: br, changed: make(chan struct{}), open: map[uint32]struct{}{},
		in: frameScanner{skip: len(h2Preface)}}
}

func (c *h2cConn) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.mu.Lock()
	c.in.scan(p[:n], func(typ, flags byte, id uint32) {
		if typ == 0x1 && id > c.maxID && len(c.open) <= 2*h2MaxStreams { // HEADERS opening a stream
			c.maxID = id
			c.open[id] = struct{}{}
		}
	})
	c.mu.Unlock()
	if err == io.EOF {
		c.drain()
	}
	return n, err
}

func (c *h2cConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	before := len(c.open)
	c.out.scan(p[:n], func(typ, flags byte, id uint32) {
		if (typ <= 0x1 && flags&0x1 != 0) || typ == 0x3 { // DATA or HEADERS with END_STREAM, RST_STREAM
			delete(c.open, id)
		}
	})
	if len(c.open) != before {
		close(c.changed)
		c.changed = make(chan struct{})
	}
	c.mu.Unlock()
	return n, err
}

// drain waits, at most drainWait, until the server has ended every stream.
func (c *h2cConn) drain() {
	deadline := time.After(drainWait)
	for {
		c.mu.Lock()
		done, ch := len(c.open) == 0, c.changed
		c.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			return
		}
	}
}

// frameScanner follows HTTP/2 frame boundaries in a byte stream, calling f
// with each frame header's type, flags and stream id.
type frameScanner struct {
	skip    int // bytes still to pass: the preface, or a frame's payload
	head    [9]byte
	headLen int
}

func (s *frameScanner) scan(b []byte, f func(typ, flags byte, id uint32)) {
	for len(b) > 0 {
		if s.skip > 0 {
			k := min(s.skip, len(b))
			s.skip -= k
			b = b[k:]
			continue
		}
		k := copy(s.head[s.headLen:], b)
		s.headLen += k
		b = b[k:]
		if s.headLen < len(s.head) {
			return
		}
		s.headLen = 0
		s.skip = int(s.head[0])<<16 | int(s.head[1])<<8 | int(s.head[2])
		f(s.head[3], s.head[4], binary.BigEndian.Uint32(s.head[5:9])&0x7fffffff)
	}
}

// flushWriter flushes every write: streamed answers reach the app as they come.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
