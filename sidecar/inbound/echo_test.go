package inbound_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/rego"
)

// got is one request as the echo app received it.
type got struct {
	Method, URI, Proto string
	Header             http.Header
	Body               []byte
}

// echoApp records every request it receives (head and whole body) and answers 200
// "ok" with an "X-App: 1" field. http1Only apps refuse HTTP/2 (Go's server then
// answers the h2 preface as a bad HTTP/1 request).
type echoApp struct {
	addr string
	mu   sync.Mutex
	reqs []got
	pri  int // HTTP/2 preface probes seen
}

func startEcho(t testing.TB, http1Only bool) *echoApp {
	t.Helper()
	a := &echoApp{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.addr = ln.Addr().String()
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second, Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(!http1Only)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

func (a *echoApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == "PRI" {
		// An HTTP/1-only Go server hands the proxy's HTTP/2 preface probe to the
		// handler as a "PRI *" request: counted, not recorded as a request.
		a.mu.Lock()
		a.pri++
		a.mu.Unlock()
		w.WriteHeader(http.StatusHTTPVersionNotSupported)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.reqs = append(a.reqs, got{Method: r.Method, URI: r.RequestURI, Proto: r.Proto, Header: r.Header.Clone(), Body: body})
	a.mu.Unlock()
	w.Header().Set("X-App", "1")
	io.WriteString(w, "ok")
}

func (a *echoApp) take() []got {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.reqs
	a.reqs = nil
	return out
}

// h2cClient is an HTTP/2 prior-knowledge client (x/net's Transport over plain TCP).
func h2cClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, n, a string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, n, a)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// h1Client is an HTTP/1.1-only client.
func h1Client(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetHTTP1(true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// recorder is an Authorizer that decides with a real engine, optionally reports a
// body policy (what *rego.Engine does once it reads bodies), optionally adds allow
// changes to an allow, and records a copy of every input.
type recorder struct {
	e     *rego.Engine
	body  *rego.BodyPolicy // nil: the engine's own
	edit  func(*rego.Decision)
	mu    sync.Mutex
	input []rego.Input
}

func (r *recorder) Decide(ctx context.Context, in *rego.Input) rego.Decision {
	cp := *in
	if in.Request != nil {
		req := *in.Request
		if in.Request.Body != nil {
			req.Body = append([]byte{}, in.Request.Body...) // the proxy reuses its buffer
		}
		cp.Request = &req
	}
	r.mu.Lock()
	r.input = append(r.input, cp)
	r.mu.Unlock()
	d := r.e.Decide(ctx, in)
	if d.Allowed && r.edit != nil {
		r.edit(&d)
	}
	return d
}

func (r *recorder) BodyPolicy() rego.BodyPolicy {
	if r.body != nil {
		return *r.body
	}
	return r.e.BodyPolicy()
}

func (r *recorder) take() []rego.Input {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.input
	r.input = nil
	return out
}

func itoa(n int) string       { return strconv.Itoa(n) }
func strconvHex(n int) string { return strconv.FormatInt(int64(n), 16) }

func dialT(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
