package inbound

import (
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/rampart-mesh/rampart/rego"
)

// h2Body is an HTTP/2 request body whose first bytes were read for the policy: the
// forwarded body is those bytes, then the rest of the stream. The bytes live in a
// pooled buffer; release closes the stream's body and makes later reads fail, so the
// buffer can go back to the pool even when a transport still holds the body after
// the response (it may, when the app answered before reading everything).
type h2Body struct {
	mu       sync.Mutex
	prefix   []byte
	rest     io.ReadCloser
	released bool
}

var errBodyReleased = errors.New("request body released")

func (b *h2Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.released {
		b.mu.Unlock()
		return 0, errBodyReleased
	}
	if len(b.prefix) > 0 {
		n := copy(p, b.prefix)
		b.prefix = b.prefix[n:]
		b.mu.Unlock()
		return n, nil
	}
	b.mu.Unlock()
	return b.rest.Read(p)
}

func (b *h2Body) Close() error { return b.rest.Close() }

func (b *h2Body) release() {
	b.rest.Close() // unblocks a read waiting for the client
	b.mu.Lock()
	b.released, b.prefix = true, nil
	b.mu.Unlock()
}

// bufferH2 reads up to p.MaxBytes of r's body (already bounded by the hard cap) for
// the policy, hands them to in, and replaces r.Body with the whole body for
// forwarding. One byte past the limit is read to learn whether the body was cut. The
// caller calls done once the request was forwarded. The error is a
// *http.MaxBytesError past the hard cap, or the stream's.
func (s *Server) bufferH2(r *http.Request, p rego.BodyPolicy, in *rego.Request) (done func(), err error) {
	size := p.MaxBytes + 1
	if r.ContentLength >= 0 && r.ContentLength < int64(size) {
		size = int(r.ContentLength) + 1
	}
	buf := s.bodies.get(size)
	n, err := io.ReadFull(r.Body, (*buf)[:size])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		s.bodies.put(buf)
		return nil, err
	}
	got := (*buf)[:n]
	in.Body, in.BodyTruncated = got[:min(n, p.MaxBytes)], n > p.MaxBytes
	body := &h2Body{prefix: got, rest: r.Body}
	r.Body = body
	return func() { body.release(); s.bodies.put(buf) }, nil
}
