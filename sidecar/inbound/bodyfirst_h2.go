package inbound

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// bodyFirstH2 reads the start of an allowed stream's body before the stream is
// forwarded, as bodyFirst does for HTTP/1: up to forwardBodyBytes, within
// ReadHeader. A stream whose client sends its body a byte at a time then costs
// its handler and a buffer the size of what arrived, not a stream to the app and
// the transport's goroutines (test/bench/dos's h2-data-dribble attack: 800 such
// streams). The forwarded body is what was read followed by the rest of the
// stream. done returns the buffer once the stream was forwarded; status is
// non-zero when the body could not be read (413 past the hard cap, 408 when the
// client was too slow, 400 otherwise), and nothing is to be forwarded.
//
// gRPC streams are forwarded at once: a streaming call's client waits for
// answers between its messages.
func (s *Server) bodyFirstH2(w http.ResponseWriter, r *http.Request) (done func(), status int) {
	if s.opts.StreamBodies || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || !s.admit() ||
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		return func() {}, 0
	}
	// The deadline is a timer of ours that ends the stream's reads when it fires,
	// not the stream's read deadline: setting and clearing that is two round trips
	// to the connection's goroutine for every stream with a body.
	late := time.AfterFunc(s.opts.Timeouts.ReadHeader, func() {
		http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0)) // past: ends reads now
	})
	size := forwardBodyStart
	if r.ContentLength > 0 {
		size = int(min(r.ContentLength+1, forwardBodyStart)) // +1: room to see the end
	}
	buf, b, err := s.readUpTo(r.Body, s.bodies.get(size), forwardBodyBytes)
	if !late.Stop() && (err == nil || errors.Is(err, io.EOF)) {
		err = os.ErrDeadlineExceeded // it fired as the body ended: the rest is cut
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.bodies.put(buf)
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, http.StatusRequestEntityTooLarge
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, http.StatusRequestTimeout
		}
		return nil, http.StatusBadRequest
	}
	body := &h2Body{prefix: b, rest: r.Body}
	r.Body = body
	return func() { body.release(); s.bodies.put(buf) }, 0
}

// readUpTo reads from r into buf until r ends (io.EOF) or limit bytes were read,
// doubling the buffer as it fills (a pooled one it outgrows goes back), and
// returns the buffer it ended in and what it read.
func (s *Server) readUpTo(r io.Reader, buf *[]byte, limit int) (*[]byte, []byte, error) {
	b := (*buf)[:0]
	for len(b) < limit {
		if len(b) == cap(b) {
			grown := s.bodies.get(min(max(2*cap(b), forwardBodyStart), limit))
			*grown = append((*grown)[:0], b...)
			s.bodies.put(buf)
			buf, b = grown, *grown
		}
		n, err := r.Read(b[len(b):min(cap(b), limit)])
		b = b[:len(b)+n]
		if err != nil {
			return buf, b, err
		}
	}
	return buf, b, nil
}
