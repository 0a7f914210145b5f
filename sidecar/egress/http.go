package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/egress/tlshello"
	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// drainWait bounds how long a denied connection waits for the answers to the
// requests allowed before it on the same connection.
const drainWait = 5 * time.Second

// httpConn is one plaintext HTTP/1 connection decided request by request. Allowed
// requests go, normalized as httpx reads them, to one connection to the original
// destination; its answers are copied back as they come.
type httpConn struct {
	g    *Guard
	app  Conn
	br   *bufio.Reader
	dst  netip.AddrPort
	up   Conn
	bw   *bufio.Writer
	done chan struct{} // closed when the answers' copy ends
	// denying keeps the copy from half-closing the app's side when it ends
	// because deny ended the request side: the denial still has to be written.
	denying atomic.Bool
}

func (g *Guard) serveHTTP(ctx context.Context, app Conn, br *bufio.Reader, dst netip.AddrPort) {
	c := &httpConn{g: g, app: app, br: br, dst: dst}
	defer c.close()
	for {
		req, err := httpx.ReadRequest(br, g.opts.HTTP)
		if err != nil {
			c.refused(err)
			return
		}
		_ = app.SetReadDeadline(time.Time{}) // kept-alive connections may idle
		in, err := c.input(req)
		var d rego.Decision
		switch {
		case err != nil:
			d = g.refuse(in, err.Error())
		case g.routed(in) && c.up == nil:
			c.toGateway(ctx, req, in)
			return
		case g.routed(in):
			d = g.throughGateway(in) // this connection already goes elsewhere
		default:
			d = g.decide(ctx, in, dst)
		}
		if !d.Allowed {
			c.deny(d)
			return
		}
		if !c.send(ctx, req) || req.Close || req.Upgrade != "" {
			return
		}
	}
}

// input builds the decision input of req (see hostInput).
func (c *httpConn) input(req *httpx.Request) (*rego.EgressInput, error) {
	in := c.g.input(c.dst, "http")
	in.Request = &rego.EgressRequest{Method: req.Method, Path: req.Target(), Host: req.Host}
	return c.g.hostInput(in, req.Host)
}

// hostInput names in's destination by host, a Host or :authority value; an
// error is a host that names no valid DNS name (it is still in the input, for
// the log). An IP literal leaves the host unset: decided by address only.
func (g *Guard) hostInput(in *rego.EgressInput, host string) (*rego.EgressInput, error) {
	name := hostOnly(host)
	if strings.HasPrefix(name, "[") {
		return in, nil // an IPv6 literal: by address only
	}
	n, ip, err := tlshello.NormalName(name)
	if err != nil {
		in.Destination.Host = name
		return in, fmt.Errorf("Host %q: %w", host, err)
	}
	if !ip {
		in.Destination.Host = n
	}
	return in, nil
}

// hostOnly drops the port of a normalized Host.
func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		return h[:i]
	}
	return h
}

// toGateway sends req, then the rest of the connection, to the egress gateway,
// which decides every request on it again.
func (c *httpConn) toGateway(ctx context.Context, req *httpx.Request, in *rego.EgressInput) {
	up, err := c.g.dialGateway(ctx, c.dst, in)
	if err != nil {
		d := c.g.refuse(in, "egress gateway unreachable")
		d.HTTPStatus, d.Body = http.StatusBadGateway, "egress gateway unreachable\n"
		c.deny(d)
		return
	}
	defer up.Close()
	bw := bufio.NewWriter(up)
	c.writeRequest(bw, req)
	if err := httpx.CopyBody(bw, c.br, req, c.g.opts.HTTP.MaxBodyBytes); err != nil || bw.Flush() != nil {
		return
	}
	carry(c.app, c.br, up)
}

func (c *httpConn) writeRequest(bw *bufio.Writer, req *httpx.Request) {
	var extra []httpx.Field
	if req.Expect100 {
		extra = []httpx.Field{{Name: "Expect", Value: "100-continue"}}
	}
	httpx.WriteHead(bw, req, extra)
}

// send forwards req (head and body) to the destination, opening the connection
// on the first allowed request. For an upgrade, the rest of the connection is
// passed through as it is: it goes to the host just decided.
func (c *httpConn) send(ctx context.Context, req *httpx.Request) bool {
	if c.up == nil {
		up, err := c.g.dial(ctx, c.dst)
		if err != nil {
			c.g.opts.Logger.Warn("egress: connect failed", "destination", c.dst, "err", err)
			return false
		}
		c.up, c.bw, c.done = up, bufio.NewWriter(up), make(chan struct{})
		go func() {
			defer close(c.done)
			_, _ = io.Copy(c.app, up)
			if !c.denying.Load() {
				_ = c.app.CloseWrite() // an answer framed by the close must end
			}
		}()
	}
	c.writeRequest(c.bw, req)
	if err := httpx.CopyBody(c.bw, c.br, req, c.g.opts.HTTP.MaxBodyBytes); err != nil {
		return false
	}
	if err := c.bw.Flush(); err != nil {
		return false
	}
	if req.Upgrade != "" {
		buffered, _ := c.br.Peek(c.br.Buffered())
		if _, err := c.up.Write(buffered); err == nil {
			_, _ = io.Copy(c.up, c.app)
		}
	}
	return true
}

// refused answers a request httpx would not read (or ends quietly at EOF).
func (c *httpConn) refused(err error) {
	var he *httpx.Error
	if !errors.As(err, &he) {
		return // EOF, timeout, reset: nothing to answer
	}
	in := c.g.input(c.dst, "http")
	d := c.g.refuse(in, "request: "+err.Error())
	d.HTTPStatus, d.Body = he.Status, http.StatusText(he.Status)+"\n"
	c.deny(d)
}

// deny waits for the answers to earlier requests, then writes the denial.
func (c *httpConn) deny(d rego.Decision) {
	if c.up != nil {
		c.denying.Store(true)
		_ = c.up.CloseWrite()
		select {
		case <-c.done:
		case <-time.After(drainWait):
			return // still answering: close without interleaving a 403
		}
	}
	status := d.HTTPStatus
	if status == 0 {
		status = rego.DenyStatus
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), strconv.Itoa(len(d.Body)), d.Body)
	_ = c.app.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(c.app, b.String())
	lingerClose(c.app)
}

// close ends the destination connection after its answers are copied.
func (c *httpConn) close() {
	if c.up == nil {
		return
	}
	_ = c.up.CloseWrite()
	select {
	case <-c.done:
	case <-time.After(drainWait):
	}
	_ = c.app.CloseWrite()
	c.up.Close()
	<-c.done
}

// refuse records a deny made before the policy (bad request, bad name, malformed
// hello).
func (g *Guard) refuse(in *rego.EgressInput, reason string) rego.Decision {
	d := g.opts.Decider.RefuseEgress(in, reason)
	g.metrics.decided(in, d)
	g.opts.Logger.Info("egress refused", "protocol", in.Destination.Protocol,
		"destination", in.Destination.IP, "reason", reason, "decision_id", d.ID)
	return d
}
