package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// serveH2C serves an HTTP/2 prior-knowledge connection; every stream is authorized
// on its own.
func (s *Server) serveH2C(ctx context.Context, c net.Conn, ci *connInfo) {
	c = s.frameBudget(c)
	s.h2.ServeConn(c, &http2.ServeConnOpts{Context: ctx, Handler: s.admitting(s.h2Handler(ci)), BaseConfig: s.h2base})
}

// h2Request is one HTTP/2 request after normalization.
type h2Request struct {
	method, path, query, host string
	header                    http.Header
}

func (r *h2Request) target() string {
	if r.query == "" {
		return r.path
	}
	return r.path + "?" + r.query
}

func (s *Server) h2Handler(ci *connInfo) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := s.normalizeH2(r)
		if err != nil {
			he := &httpx.Error{Status: http.StatusBadRequest, Reason: err.Error()}
			errors.As(err, &he)
			s.opts.Logger.Info("request refused", "source", ci.source.Principal, "status", he.Status, "reason", he.Reason)
			s.m.refuse("h2", he.Status)
			writeH2Denial(w, errorDenial(he.Status))
			return
		}
		s.decideH2(w, r, req, ci)
	})
}

// decideH2 authorizes one normalized stream (with its body's first bytes when the
// policy reads bodies) and forwards it when allowed, with the decision's changes.
func (s *Server) decideH2(w http.ResponseWriter, r *http.Request, req *h2Request, ci *connInfo) {
	if max := s.opts.HTTP.MaxBodyBytes; max >= 0 {
		r.Body = http.MaxBytesReader(w, r.Body, max)
	}
	in := ci.httpInput(req.method, req.target(), req.host, "HTTP/2", flatten(req.header))
	p := s.bodyPolicy()
	if p.Read {
		done, err := s.bufferH2(r, p, in.Request)
		if err != nil {
			status := http.StatusBadRequest
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				status = http.StatusRequestEntityTooLarge
			}
			s.opts.Logger.Info("request refused", "source", ci.source.Principal, "status", status, "reason", err.Error())
			s.m.refuse("h2", status)
			writeH2Denial(w, errorDenial(status))
			return
		}
		defer done()
	}
	d := s.opts.Authorizer.Decide(r.Context(), in)
	s.m.decision("h2", d.Allowed)
	if !d.Allowed {
		s.opts.Logger.Debug("request denied", "source", ci.source.Principal, "method", req.method, "path", req.target(), "reason", d.Reason, "decision_id", d.ID)
		writeH2Denial(w, denialFor(d))
		return
	}
	if err := s.applyAllowH2(req, &d, ci); err != nil {
		writeH2Denial(w, errorDenial(http.StatusInternalServerError))
		return
	}
	if !p.Read {
		done, status := s.bodyFirstH2(w, r)
		if status != 0 {
			s.opts.Logger.Info("request refused", "source", ci.source.Principal, "status", status, "reason", "body")
			s.m.refuse("h2", status)
			writeH2Denial(w, errorDenial(status))
			return
		}
		defer done()
	}
	s.h2up.proxy(w, r, req, ci, s.transportFor(r.Context(), ci), d.ResponseHeadersToAdd, s.opts.Logger, s.m)
}

// normalizeH2 applies the same rules as the HTTP/1 parser to an HTTP/2 request:
// upper-case method, normalized :path and :authority, no conflicting Host field.
func (s *Server) normalizeH2(r *http.Request) (*h2Request, error) {
	if err := httpx.CheckMethod(r.Method); err != nil {
		return nil, err
	}
	host, err := httpx.NormalizeHost(r.Host, s.opts.HTTP.DefaultPort)
	if err != nil {
		return nil, err
	}
	if hs := r.Header.Values("Host"); len(hs) > 0 {
		other, err := httpx.NormalizeHost(hs[0], s.opts.HTTP.DefaultPort)
		if err != nil || len(hs) > 1 || other != host {
			return nil, &httpx.Error{Status: http.StatusBadRequest, Reason: "Host field differs from :authority"}
		}
	}
	path, query, err := httpx.NormalizeTarget(r.RequestURI, s.opts.HTTP.Slashes)
	if err != nil {
		return nil, err
	}
	if max := s.opts.HTTP.MaxBodyBytes; max >= 0 && r.ContentLength > max {
		return nil, &httpx.Error{Status: http.StatusRequestEntityTooLarge, Reason: "body too large"}
	}
	return &h2Request{method: r.Method, path: path, query: query, host: host, header: forwardHeader(r.Header)}, nil
}

// forwardHeader is the request header as forwarded and as policy sees it: no
// hop-by-hop fields (but "te: trailers", which gRPC needs) and no proxy-set fields.
func forwardHeader(in http.Header) http.Header {
	out := make(http.Header, len(in))
	listed := map[string]bool{}
	for _, v := range in.Values("Connection") {
		for t := range strings.SplitSeq(v, ",") {
			listed[http.CanonicalHeaderKey(strings.TrimSpace(t))] = true
		}
	}
	for k, vv := range in {
		lk := strings.ToLower(k)
		if lk == "host" || lk == "te" || responseHopByHop[lk] || listed[k] || isProxySet(k) {
			continue
		}
		out[k] = vv
	}
	if strings.EqualFold(strings.TrimSpace(in.Get("Te")), "trailers") {
		out.Set("Te", "trailers")
	}
	return out
}

func flatten(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, vv := range h {
		m[strings.ToLower(k)] = strings.Join(vv, ",")
	}
	return m
}

func writeH2Denial(w http.ResponseWriter, d denial) {
	h := w.Header()
	for k, vv := range denialHeader(d) {
		h[k] = vv
	}
	w.WriteHeader(d.status)
	w.Write([]byte(d.body))
}

// denialHeader is the header of a denial answered over HTTP/2.
func denialHeader(d denial) http.Header {
	h := make(http.Header, len(d.headers)+1)
	for _, f := range d.headers {
		if safeResponseField(f.Name, f.Value) {
			h.Add(f.Name, f.Value)
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	return h
}

// h2Upstream forwards HTTP/2 requests to the app over h2c with prior knowledge,
// pooled and multiplexed by the transport: a client that spoke HTTP/2 (gRPC) is
// answered by an app that speaks HTTP/2.
type h2Upstream struct {
	t        *http2.Transport
	response time.Duration // bound on the wait for response headers
	protos   appProtocols  // which app ports speak h2c (downgrade.go)
	bufs     copyBuffers   // answer copy buffers, shared by every stream
}

// copyBuffers lends ReverseProxy its copy buffers: 8 KiB from a pool instead of a
// fresh 32 KiB per stream. A stream whose client stopped reading holds its buffer
// for as long as it is stalled, so the size is part of what such a stream pins.
type copyBuffers struct{ p sync.Pool }

const copyBufferSize = 8 << 10

func (b *copyBuffers) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, copyBufferSize)
}

func (b *copyBuffers) Put(buf []byte) {
	if cap(buf) == copyBufferSize {
		buf = buf[:copyBufferSize]
		b.p.Put(&buf)
	}
}

// RoundTrip gives up when the app has not answered with headers in time; once it
// has, the body may stream for as long as it keeps flowing.
func (u *h2Upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(u.response, cancel)
	resp, err := u.t.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() || err != nil {
		cancel()
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("no response headers within %s", u.response)
		}
		return nil, err
	}
	// The stream lives on with ctx; it ends when the request's context does.
	return resp, nil
}

func newH2Upstream(t Timeouts) *h2Upstream {
	return &h2Upstream{response: t.Response, t: newH2Transport(t)} // limits_h2.go
}

func (u *h2Upstream) closeIdle() { u.t.CloseIdleConnections() }

// proxy forwards the stream through t (the app's h2c transport, or h1Transport to
// downgrade it) and adds the policy's response fields to the answer.
func (u *h2Upstream) proxy(w http.ResponseWriter, r *http.Request, req *h2Request, ci *connInfo, t http.RoundTripper, addResp []rego.Field, log *slog.Logger, m *metrics) {
	// req.header was built for this request alone (forwardHeader): add to it in
	// place rather than copy it again.
	header := req.header
	if v := ci.xfcc(); v != "" {
		header.Set("X-Forwarded-Client-Cert", v)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = &url.URL{Scheme: "http", Host: ci.upstream, Opaque: req.path, RawQuery: req.query}
			pr.Out.Host = req.host
			pr.Out.Header = header
		},
		Transport:     t,
		BufferPool:    &u.bufs,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			addResponseFields(resp.Header, addResp)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			log.Info("forward failed", "upstream", ci.upstream, "err", err)
			status := http.StatusServiceUnavailable
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				status = http.StatusRequestEntityTooLarge
			} else {
				m.upstreamError("h2")
			}
			writeH2Denial(w, errorDenial(status))
		},
	}
	rp.ServeHTTP(w, r)
}
