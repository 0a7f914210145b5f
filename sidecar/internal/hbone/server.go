package hbone

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/sidecar/internal/gopool"
)

// Serve runs the server side of an HTTP/2 connection over nc (a TLS connection
// that negotiated "h2") until it closes. Every stream the peer opens runs handle
// in its own goroutine; handle answers with Stream.Accept or Stream.Respond, and
// the stream is closed when handle returns. When ctx ends, Serve sends GOAWAY and
// lets open streams finish. Serve returns once the connection is closed and
// every handler has returned.
func Serve(ctx context.Context, nc net.Conn, cfg Config, handle func(*Stream)) error {
	c := newConn(nc, cfg, false)
	c.handler = handle
	return c.serve(ctx)
}

func (c *Conn) serve(ctx context.Context) error {
	nc := c.nc
	if err := c.start(); err != nil {
		nc.Close()
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.Shutdown(context.Background()) })
	defer stop()
	c.readLoop()
	c.handlers.Wait()
	err := c.Err()
	if errors.Is(err, ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// onHeaders handles a header block: a new request (server), a response
// (client), or trailers, which only end the stream.
func (c *Conn) onHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	c.mu.Lock()
	st := c.streams[id]
	switch {
	case st != nil && st.remoteEnd:
		// Half-closed (remote): the peer has ended its side (§5.1).
		st.abortLocked(http2.ErrCodeStreamClosed, &StreamError{Code: http2.ErrCodeStreamClosed})
		c.mu.Unlock()
		return nil
	case st != nil && (!c.client || st.status != 0):
		// Trailers must end the stream and carry no pseudo-fields (§8.1).
		if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
			st.abortLocked(http2.ErrCodeProtocol, &StreamError{Code: http2.ErrCodeProtocol})
		} else {
			st.remoteEnd = true
			st.maybeRemoveLocked()
		}
		c.mu.Unlock()
		st.wakeReader()
		return nil
	case st != nil:
		err := c.onResponseLocked(st, f)
		c.mu.Unlock()
		st.wakeReader()
		return err
	case c.client:
		known := c.openedLocked(id)
		c.mu.Unlock()
		if known {
			return c.ignoredFrame() // the answer to a stream we gave up on
		}
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case id%2 == 0:
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case id <= c.lastPeerID:
		// A closed stream (a stream below one already opened is closed too,
		// §5.1.1): STREAM_CLOSED, unless we reset it and these are trailers
		// that were in flight, which must be ignored (§5.1). The block was
		// decoded, so HPACK state holds.
		c.mu.Unlock()
		if err := c.ignoredFrame(); err != nil || c.ctlq.resetByUs(id) {
			return err
		}
		c.queueReset(id, http2.ErrCodeStreamClosed)
		return nil
	}
	c.lastPeerID = id
	c.mu.Unlock()
	c.streamsOpened.Add(1)
	return c.openStream(f)
}

// openStream starts the handler of a peer's new stream, or refuses it.
func (c *Conn) openStream(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if c.cfg.AdmitStream != nil && !c.cfg.AdmitStream() {
		c.queueReset(id, http2.ErrCodeRefusedStream) // safe to retry elsewhere
		return nil
	}
	c.mu.Lock()
	if c.goaway {
		c.mu.Unlock()
		c.queueReset(id, http2.ErrCodeRefusedStream)
		return nil
	}
	// Handlers count, not only open streams: a peer that opens and at once resets
	// streams (CVE-2023-44487) must not start handlers without bound.
	if max(uint32(len(c.streams)), c.running) >= c.cfg.MaxConcurrentStreams {
		c.mu.Unlock()
		c.queueReset(id, http2.ErrCodeRefusedStream)
		return c.badStream()
	}
	req, ok := request(f)
	if !ok {
		c.mu.Unlock()
		c.queueReset(id, http2.ErrCodeProtocol) // malformed (§8.1.1)
		return c.badStream()
	}
	st := c.newStream()
	st.id, st.request = id, req
	st.sendWindow = c.peerInitialWindow
	st.remoteEnd = f.StreamEnded()
	st.local, st.remote = authorityAddr(req.Authority), c.nc.RemoteAddr()
	if st.local.(*net.TCPAddr).Port == 0 {
		st.local = c.nc.LocalAddr()
	}
	c.streams[id] = st
	c.open.Add(1)
	c.running++
	c.handlers.Add(1)
	c.mu.Unlock()
	truncated := f.Truncated
	handlers.Go(func() { c.serveStream(st, truncated) })
	return nil
}

// handlers runs stream handlers on kept goroutines (gopool): a new goroutine
// per stream grew its stack by copying several times per stream.
var handlers gopool.Pool

// request reads a request's header block. A CONNECT carries only :method and
// :authority (§8.5); other methods reach the handler, which refuses them.
func request(f *http2.MetaHeadersFrame) (Request, bool) {
	r := Request{
		Method: f.PseudoValue("method"), Authority: f.PseudoValue("authority"),
		Scheme: f.PseudoValue("scheme"), Path: f.PseudoValue("path"), Protocol: f.PseudoValue("protocol"),
		Header: make(http.Header),
	}
	if f.PseudoValue("status") != "" || r.Method == "" {
		return r, false
	}
	if f.HasPriority() && f.Priority.StreamDep == f.StreamID {
		return r, false // a stream cannot depend on itself (§5.3.1)
	}
	if r.Method == http.MethodConnect && (r.Authority == "" || r.Scheme != "" || r.Path != "" || r.Protocol != "") {
		return r, false
	}
	if r.Method != http.MethodConnect && (r.Scheme == "" || r.Path == "") {
		return r, false // other requests carry both (§8.3.1); the handler refuses them
	}
	for _, hf := range f.RegularFields() {
		// Connection-specific fields make a request malformed (§8.2.2).
		if connectionSpecific[hf.Name] || hf.Name == "te" && hf.Value != "trailers" {
			return r, false
		}
		r.Header.Add(hf.Name, hf.Value)
	}
	return r, true
}

// serveStream runs the handler for one stream. A panic in it takes down the
// stream, never the proxy.
func (c *Conn) serveStream(st *Stream, truncated bool) {
	defer c.handlers.Done()
	defer func() {
		c.mu.Lock()
		c.running--
		c.mu.Unlock()
	}()
	defer func() {
		if r := recover(); r != nil {
			c.cfg.Logger.Error("hbone: stream handler panicked", "panic", r, "stream", st.id)
		}
		st.Close()
	}()
	if truncated {
		st.Respond(http.StatusRequestHeaderFieldsTooLarge, nil, nil)
		return
	}
	c.handler(st)
}
