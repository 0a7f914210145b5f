package inbound

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// roundTrip sends the normalized request (plus x-forwarded-client-cert) to the app
// and returns its final response; 1xx interim responses other than 101 are dropped
// (the proxy answered Expect itself). A request whose body is empty or held whole in
// rb is retried once on a fresh connection when a pooled one turns out to be closed
// (see stale).
func (s *Server) roundTrip(ctx context.Context, cr *clientReader, br *bufio.Reader, req *httpx.Request, rb *httpx.RequestBody, ci *connInfo) (*upConn, *httpx.Response, error) {
	extra := ci.xfccExtra()
	for attempt := 0; ; attempt++ {
		up, reused, err := s.pool.get(ctx, ci.upstream)
		if err != nil {
			return nil, nil, err
		}
		resp, err := s.send(up, br, req, rb, extra)
		if err == nil {
			return up, resp, nil
		}
		up.Close()
		resendable := req.ContentLength == 0 || rb != nil && !rb.Truncated // the body is all in memory
		if !reused || !stale(err) || !resendable || attempt > 0 {
			return nil, nil, err
		}
	}
}

// stale reports whether err is how a kept-alive connection that the app had closed
// fails: the write is refused, or the read ends or is reset before a response. The
// app closed it idle, so it never saw the request and sending it again is safe. A
// timeout or a malformed response is not stale: the app may have acted on the
// request.
func stale(err error) bool {
	var he *httpx.Error
	if errors.As(err, &he) || errors.Is(err, io.ErrUnexpectedEOF) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// send writes the request and its body (rb when part of it was read for the
// policy) and reads the app's final response.
func (s *Server) send(up *upConn, br *bufio.Reader, req *httpx.Request, rb *httpx.RequestBody, extra []httpx.Field) (*httpx.Response, error) {
	httpx.WriteHead(up.bw, req, extra)
	var err error
	if rb != nil {
		_, err = rb.WriteTo(up.bw)
	} else {
		err = httpx.CopyBody(up.bw, br, req, s.opts.HTTP.MaxBodyBytes)
	}
	if err != nil {
		return nil, err
	}
	if err := up.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write upstream: %w", err)
	}
	return s.readFinal(up, req.Method)
}

// readFinal reads the app's final response; interim responses are bounded (as
// net/http's client bounds them): an app sending them without end would hold the
// client's request forever.
func (s *Server) readFinal(up *upConn, method string) (*httpx.Response, error) {
	resp := &up.resp
	for range maxInterim + 1 {
		if err := resp.Read(up.br, method, s.opts.HTTP); err != nil {
			return nil, fmt.Errorf("read upstream response: %w", err)
		}
		if resp.Status/100 != 1 || resp.Status == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
	return nil, &httpx.Error{Status: http.StatusBadGateway, Reason: "response: too many interim responses"}
}

// maxInterim is how many 1xx responses may precede the final one.
const maxInterim = 8
