package inbound

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// serveHTTP1 serves requests one after another (pipelined requests wait in br and
// are each parsed, authorized and forwarded in order) until one side closes. It
// owns br: between requests it holds no buffers (idle.go). With a parker p it may
// park the connection between requests and report true: the connection is then
// the parker's, and release ends it.
func (s *Server) serveHTTP1(ctx context.Context, c net.Conn, cr *clientReader, br *bufio.Reader, ci *connInfo, p *parker, release func()) bool {
	i := s.newIdler(ctx, c, cr, ci)
	i.parkable(p, release)
	return i.serve(br)
}

// serve is the HTTP/1 request loop of i's connection. br holds what was read
// before (sniffing); it is nil when a parked connection resumes, which had
// nothing buffered. It reports whether the connection was parked.
func (i *idler) serve(br *bufio.Reader) (parked bool) {
	s, ctx, c, cr, ci := i.s, i.ctx, i.cr.c, i.cr, i.ci
	var bw *bufio.Writer
	if br != nil {
		bw = s.writer(&i.dw)
	}
	defer func() { s.putWriter(bw); s.putReader(br) }() // the last ones wait took
	for ctx.Err() == nil {
		// Deadlines are set only where a read may wait: each is a timer update.
		if br == nil || br.Buffered() == 0 {
			if br, bw, parked = i.wait(br, bw); br == nil {
				return parked
			}
		}
		if !headBuffered(br) {
			until := i.headDeadline()
			if i.awaitHead(br, bw, until) {
				return true
			}
			cr.set(until)
		}
		i.headUntil = time.Time{}
		req, err := httpx.ReadRequest(br, s.opts.HTTP)
		if err != nil {
			s.refuse(bw, err, ci)
			return false
		}
		if !s.exchange(ctx, c, cr, br, bw, req, ci) {
			return false
		}
	}
	return false
}

// refuse answers a request the parser would not accept, then the connection closes:
// after a framing error nothing that follows can be trusted to be a request.
func (s *Server) refuse(bw *bufio.Writer, err error, ci *connInfo) {
	var he *httpx.Error
	if !errors.As(err, &he) {
		return // EOF, timeout or reset: nobody to answer
	}
	s.opts.Logger.Info("request refused", "source", ci.source.Principal, "status", he.Status, "reason", he.Reason)
	s.m.refuse("http1", he.Status)
	errorDenial(he.Status).write(bw, true)
}

// exchange authorizes one request and, when allowed, forwards it and relays the
// response. It reports whether the client connection can carry another request.
func (s *Server) exchange(ctx context.Context, c net.Conn, cr *clientReader, br *bufio.Reader, bw *bufio.Writer, req *httpx.Request, ci *connInfo) bool {
	stripProxySet(req)
	headers := req.Headers()
	if req.Upgrade != "" {
		headers["upgrade"] = req.Upgrade // forwarded, so policy sees it
	}
	in := ci.httpInput(req.Method, req.Target(), req.Host, req.Proto, headers)
	var rb *httpx.RequestBody
	if p := s.bodyPolicy(); p.Read {
		var buf *[]byte
		if rb, buf = s.bufferHTTP1(cr, br, bw, req, p, in.Request, ci); rb == nil {
			return false // refused or gone
		}
		defer s.bodies.put(buf)
	}
	d := s.opts.Authorizer.Decide(ctx, in)
	s.m.decision("http1", d.Allowed)
	if !d.Allowed {
		s.opts.Logger.Debug("request denied", "source", ci.source.Principal, "method", req.Method, "path", req.Target(), "reason", d.Reason, "decision_id", d.ID)
		// An unread body would be parsed as the next request: close instead.
		closing := req.Close || rb == nil && req.ContentLength != 0 || rb != nil && rb.Truncated
		return denialFor(d).write(bw, closing) == nil && !closing
	}
	if err := s.applyAllow(req, &d, ci); err != nil {
		errorDenial(http.StatusInternalServerError).write(bw, true)
		return false
	}
	if req.Expect100 {
		bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		bw.Flush()
	}
	if rb == nil {
		var buf *[]byte
		var ok bool
		if rb, buf, ok = s.bodyFirst(cr, br, bw, req, ci); !ok {
			return false
		}
		defer s.bodies.put(buf)
	}
	cr.idle, cr.err = s.opts.Timeouts.Idle, nil
	up, resp, err := s.roundTrip(ctx, cr, br, req, rb, ci)
	cr.idle = 0
	if err != nil {
		return s.forwardFailed(bw, cr, ci, err)
	}
	if resp.Status == http.StatusSwitchingProtocols {
		if req.Upgrade == "" || resp.Upgrade == "" {
			// The app switched protocols nobody asked for (or to one it does not
			// name): what it and the client send next would not be HTTP the proxy
			// can authorize.
			up.Close()
			errorDenial(http.StatusBadGateway).write(bw, true)
			return false
		}
		s.upgraded(c, br, bw, up, resp)
		return false
	}
	if len(d.ResponseHeadersToAdd) > 0 {
		resp.Header = append(resp.Header, toHTTPX(d.ResponseHeadersToAdd)...)
	}
	up.body.Reset(up.br, resp)
	keep, err := writeResponse(bw, resp, &up.body, req.Proto, req.Close)
	s.release(up, resp, err == nil)
	return keep && err == nil
}

// forwardFailed answers a request that could not be forwarded (or whose body failed
// on the way) and reports false: the connection closes.
func (s *Server) forwardFailed(bw *bufio.Writer, cr *clientReader, ci *connInfo, err error) bool {
	status := http.StatusServiceUnavailable
	var he *httpx.Error
	switch {
	case errors.As(err, &he):
		status = he.Status
	case errors.Is(cr.err, os.ErrDeadlineExceeded):
		status = http.StatusRequestTimeout // the client stalled its body
	case cr.err != nil:
		return false // the client went away mid-body: nobody to answer
	}
	s.opts.Logger.Info("forward failed", "upstream", ci.upstream, "status", status, "err", err)
	if status == http.StatusServiceUnavailable {
		s.m.upstreamError("http1")
	}
	errorDenial(status).write(bw, true)
	return false
}

// upgraded relays the app's 101 and then copies bytes both ways: only now, after the
// app agreed to switch, is anything the client sends no longer HTTP.
func (s *Server) upgraded(c net.Conn, br *bufio.Reader, bw *bufio.Writer, up *upConn, resp *httpx.Response) {
	defer up.Close()
	httpx.WriteResponseHead(bw, resp)
	bw.WriteString("Connection: Upgrade\r\nUpgrade: " + resp.Upgrade + "\r\n\r\n")
	if bw.Flush() != nil {
		return
	}
	// Bytes the app sent right after its 101 wait in up.br.
	if n := up.br.Buffered(); n > 0 {
		b, _ := up.br.Peek(n)
		if _, err := c.Write(b); err != nil {
			return
		}
	}
	splice(c, br, up.Conn, s.opts.Timeouts.StreamIdle)
}

// release returns up to the pool when its response was read to the end (the copy
// stops only at the body's end or an error) and both sides keep the connection.
func (s *Server) release(up *upConn, resp *httpx.Response, complete bool) {
	if !complete || resp.Close {
		up.Close()
		return
	}
	s.pool.put(up)
}

// stripProxySet removes the client's copies of headers the proxy sets.
func stripProxySet(req *httpx.Request) {
	kept := req.Header[:0]
	for _, f := range req.Header {
		if !isProxySet(f.Name) {
			kept = append(kept, f)
		}
	}
	req.Header = kept
}

// headBuffered reports whether a whole request head is already in br, so parsing it
// reads nothing more from the client and needs no ReadHeader deadline. The parser
// stops at the first empty line or earlier, so "\r\n\r\n" after a non-empty first
// line bounds what it reads.
func headBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return headComplete(b)
}

// clientReader is the client connection as the bufio.Reader sees it. While idle is
// set, reads keep the read deadline at least 15/16 of idle away (a streaming body
// may take long but may not stall); otherwise the caller's deadline applies. Every
// read deadline of c is set through it (sniff's, before, is cleared again), so
// until is what c has.
type clientReader struct {
	c     net.Conn
	idle  time.Duration
	err   error     // the last read error, to tell a stalled client from a failed app
	until time.Time // c's read deadline; zero: none
	// pending is what the parker read for a connection parked mid-head; reads
	// return it before reading c.
	pending []byte
	read    int // bytes read since the goroutine last yielded (see yieldEvery)
}

// yieldEvery is how many bytes a connection's goroutine reads between yields of
// its P. A client that sends a large request (100 000 one-byte chunks: 600 KB and
// 5 ms of parsing) keeps its socket readable, so its goroutine never waits and
// runs until preempted (10 ms); with one P, four such clients held another
// client's request for 44 ms at p99 (test/bench/dos's chunk-abuse, nginx: 10).
// Yielding every 64 KiB bounds that wait to a fraction of a millisecond per such
// client and costs one runtime.Gosched per 64 KiB.
const yieldEvery = 64 << 10

func (r *clientReader) set(t time.Time) {
	r.until = t
	r.c.SetReadDeadline(t)
}

// renew moves the read deadline to now+d unless it is at least 15/16 of d away.
func (r *clientReader) renew(d time.Duration) {
	if t, ok := renew(r.until, d); ok {
		r.set(t)
	}
}

func (r *clientReader) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		if r.pending = r.pending[n:]; len(r.pending) == 0 {
			r.pending = nil
		}
		return n, nil
	}
	if r.idle > 0 {
		r.renew(r.idle)
	}
	n, err := r.c.Read(p)
	if err != nil {
		r.err = err
	}
	if r.read += n; r.read >= yieldEvery {
		r.read = 0
		runtime.Gosched()
	}
	return n, err
}
