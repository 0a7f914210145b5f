package inbound

import (
	"bufio"
	"errors"
	"net/http"
	"os"
	"sync"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// bodyPolicer is implemented by an Authorizer whose policy may read request bodies
// (*rego.Engine): the proxy buffers a body before deciding only when it says so, so
// requests to policies that never read bodies pay nothing. The Body handed to Decide
// lives in a pooled buffer that is reused once the request was forwarded: an
// Authorizer that keeps it past Decide (a cache key, an asynchronous log) copies it.
type bodyPolicer interface {
	BodyPolicy() rego.BodyPolicy
}

// bodyPolicy is the current policy's body policy; it is asked per request because a
// bundle reload may change it. The buffered size never exceeds the hard cap
// (HTTP.MaxBodyBytes): a body past the cap is refused with 413 anyway.
func (s *Server) bodyPolicy() rego.BodyPolicy {
	bp, ok := s.opts.Authorizer.(bodyPolicer)
	if !ok {
		return rego.BodyPolicy{}
	}
	p := bp.BodyPolicy()
	if max := s.opts.HTTP.MaxBodyBytes; max >= 0 && int64(p.MaxBytes) > max {
		p.MaxBytes = int(max)
	}
	p.MaxBytes = max(p.MaxBytes, 0)
	return p
}

// bodyPool recycles the buffers bodies are read into for the policy. Each buffer
// holds at most one BodyPolicy.MaxBytes, one per request being decided (a
// connection's or a stream's), and goes back once the request was forwarded.
// Buffers larger than maxPooledBody are left to the garbage collector.
type bodyPool struct{ p sync.Pool }

const maxPooledBody = 1 << 20

// get returns a buffer with room for n bytes.
func (bp *bodyPool) get(n int) *[]byte {
	if v, ok := bp.p.Get().(*[]byte); ok {
		if cap(*v) >= n {
			*v = (*v)[:0]
			return v
		}
		bp.p.Put(v)
	}
	b := make([]byte, 0, n)
	return &b
}

func (bp *bodyPool) put(b *[]byte) {
	if b != nil && cap(*b) <= maxPooledBody {
		bp.p.Put(b)
	}
}

// initialBodyBuffer is what a chunked body's buffer starts with; it grows to the
// policy's limit as chunks arrive.
const initialBodyBuffer = 4 << 10

// bufferHTTP1 reads the first bytes of req's body for the policy into a pooled
// buffer and hands them to in. It answers "100 Continue" first when the client waits
// for it: the body must arrive before the decision. The caller forwards the body
// through rb and then returns the buffer with s.bodies.put. A body that cannot be
// read is answered (400, 408, 413) unless the client went away; rb is nil then.
func (s *Server) bufferHTTP1(cr *clientReader, br *bufio.Reader, bw *bufio.Writer, req *httpx.Request, p rego.BodyPolicy, in *rego.Request, ci *connInfo) (*httpx.RequestBody, *[]byte) {
	if req.Expect100 && req.ContentLength != 0 {
		bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		bw.Flush()
		req.Expect100 = false
	}
	size := initialBodyBuffer
	if !req.Chunked() {
		size = int(min(req.ContentLength, int64(p.MaxBytes)))
	}
	buf := s.bodies.get(min(size, p.MaxBytes))
	rb := &httpx.RequestBody{}
	cr.idle, cr.err = s.opts.Timeouts.Idle, nil // a body may stream, but not stall
	err := rb.Buffer(br, req, *buf, p.MaxBytes, s.opts.HTTP.MaxBodyBytes)
	cr.idle = 0
	if err != nil {
		s.bodies.put(buf)
		if cr.err == nil || errors.Is(cr.err, os.ErrDeadlineExceeded) {
			s.refuse(bw, bodyError(err, cr), ci)
		}
		return nil, nil
	}
	*buf = rb.Prefix[:0] // keep what it grew to
	in.Body, in.BodyTruncated = rb.Prefix, rb.Truncated
	return rb, buf
}

// bodyError is the refusal for a body that could not be read for the policy: the
// parser's own status, 408 when the client stalled.
func bodyError(err error, cr *clientReader) error {
	var he *httpx.Error
	if errors.As(err, &he) {
		return he
	}
	if errors.Is(cr.err, os.ErrDeadlineExceeded) {
		return &httpx.Error{Status: http.StatusRequestTimeout, Reason: "client stalled its body"}
	}
	return err
}

// applyAllow checks and applies an allow decision's changes to an HTTP/1 request;
// an error has been logged and is answered 500.
func (s *Server) applyAllow(req *httpx.Request, d *rego.Decision, ci *connInfo) error {
	if !hasEdits(d) {
		return nil
	}
	err := checkAllow(d)
	if err == nil {
		err = applyAllowHTTP1(req, d)
	}
	if err != nil {
		s.opts.Logger.Error("allow decision refused", "source", ci.source.Principal, "method", req.Method, "path", req.Path, "err", err, "decision_id", d.ID)
	}
	return err
}

// applyAllowH2 is applyAllow for an HTTP/2 request.
func (s *Server) applyAllowH2(req *h2Request, d *rego.Decision, ci *connInfo) error {
	if !hasEdits(d) {
		return nil
	}
	err := checkAllow(d)
	if err == nil {
		editHeader(req.header, d)
		req.query, err = editQuery(req.query, d)
	}
	if err != nil {
		s.opts.Logger.Error("allow decision refused", "source", ci.source.Principal, "method", req.method, "path", req.path, "err", err, "decision_id", d.ID)
	}
	return err
}
