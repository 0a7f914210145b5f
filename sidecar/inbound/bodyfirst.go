package inbound

import (
	"bufio"
	"errors"
	"os"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// Request bodies are read before the app is involved. An allowed HTTP/1 request
// whose body has not fully arrived is not forwarded at once: the proxy first
// reads up to forwardBodyBytes of it (the whole body, for most requests), and only
// then connects to the app and sends the request, streaming what is left past that
// bound. nginx (proxy_request_buffering) and HAProxy (option http-buffer-request)
// do the same. A client that sends its body slowly then holds a connection to the
// proxy and a buffer the size of what it sent, not a connection to the app, a
// request the app started, and (when the app is shared) a share of the app's
// workers: test/bench/dos's slow-body attack, 1000 clients each sending one byte a
// second, made the proxy dial the app 1000 times and held 1000 of its connections.
//
// The buffered part of a body must arrive within Timeouts.ReadHeader of the
// head (as HAProxy's "timeout http-request" covers a buffered body): a client
// that is slower is answered 408. Past forwardBodyBytes the body streams, bounded
// only by the Idle timeout between reads. Near the memory limit nothing is
// buffered. A body held whole in memory also lets a request be sent again when a
// pooled connection to the app turns out to be closed.
//
// The bound is what nginx (client_body_buffer_size) and HAProxy (tune.bufsize)
// hold in memory: 16 KiB. Every stream of an HBONE connection may hold it, so it
// is part of what a peer pins (test/bench/dos's hbone-unread-uploads: 800
// streams, 12.5 MiB); a larger one made no attack cheaper.
const (
	forwardBodyBytes = 16 << 10
	// forwardBodyStart is the buffer a body starts in; it doubles as bytes arrive.
	forwardBodyStart = 4 << 10
)

// bodyFirst reads the start of req's body before it is forwarded (see above),
// unless it is already buffered whole in br or the policy read it (rb != nil).
// It returns the body to forward (nil: stream it from br) and its pooled buffer;
// ok is false when the body could not be read (answered unless the client left).
func (s *Server) bodyFirst(cr *clientReader, br *bufio.Reader, bw *bufio.Writer, req *httpx.Request, ci *connInfo) (rb *httpx.RequestBody, buf *[]byte, ok bool) {
	if s.opts.StreamBodies || req.ContentLength == 0 || req.ContentLength > 0 && req.ContentLength <= int64(br.Buffered()) || !s.admit() {
		return nil, nil, true
	}
	size := forwardBodyStart
	if !req.Chunked() {
		size = int(min(req.ContentLength, forwardBodyStart))
	}
	buf = s.bodies.get(size)
	rb = &httpx.RequestBody{}
	cr.idle, cr.err = 0, nil
	cr.set(time.Now().Add(s.opts.Timeouts.ReadHeader))
	if err := rb.Buffer(br, req, *buf, forwardBodyBytes, s.opts.HTTP.MaxBodyBytes); err != nil {
		s.bodies.put(buf)
		if cr.err == nil || errors.Is(cr.err, os.ErrDeadlineExceeded) {
			s.refuse(bw, bodyError(err, cr), ci)
		}
		return nil, nil, false
	}
	*buf = rb.Prefix[:0] // keep what it grew to
	return rb, buf, true
}
