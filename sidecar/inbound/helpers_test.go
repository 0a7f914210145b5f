package inbound_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// engine loads a real OPA bundle from dir.
func engine(t testing.TB, dir string) *rego.Engine {
	t.Helper()
	e, err := rego.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.LoadDir(context.Background(), "test", dir); err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return e
}

// seen is one request as the app received it.
type seen struct {
	Method, URI, Host, Path, XFCC, Body, Proto string
}

// app is a recording upstream: Go's own HTTP/1.1 and h2c server (an independent,
// strict parser), answering 200 "landed <method> <uri>", and a WebSocket-like echo
// after a 101 on /ws.
type app struct {
	addr string
	mu   sync.Mutex
	reqs []seen
}

func startApp(t testing.TB) *app {
	t.Helper()
	a := &app{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.addr = ln.Addr().String()
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second, Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs = append(a.reqs, seen{Method: r.Method, URI: r.RequestURI, Host: r.Host, Path: r.URL.Path,
		XFCC: r.Header.Get("X-Forwarded-Client-Cert"), Body: string(body), Proto: r.Proto})
	a.mu.Unlock()
	if r.URL.Path == "/public/slow" {
		select { // an app that does not answer in time
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
		return
	}
	if r.URL.Path == "/public/rogue-101" {
		a.echo(w) // switches protocols although nobody asked
		return
	}
	if r.URL.Path == "/ws" && r.Header.Get("Upgrade") == "websocket" {
		a.echo(w)
		return
	}
	io.WriteString(w, "landed "+r.Method+" "+r.RequestURI)
}

// echo switches protocols and echoes every line back upper-cased.
func (a *app) echo(w http.ResponseWriter) {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	brw.Flush()
	for {
		l, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		brw.WriteString(strings.ToUpper(l))
		brw.Flush()
	}
}

func (a *app) take() []seen {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.reqs
	a.reqs = nil
	return out
}

// routedTo is where a lenient application would route r: decoded path, "\" as "/",
// path parameters dropped, dot segments resolved.
func (s seen) routedTo() string {
	p := strings.ReplaceAll(s.Path, "\\", "/")
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		segs[i], _, _ = strings.Cut(seg, ";")
	}
	return path.Clean("/" + strings.Join(segs, "/"))
}

// allowedByTestPolicy mirrors testdata/policy for the app's view of a request.
func allowedByTestPolicy(s seen) bool {
	route := s.routedTo()
	switch {
	case s.Method == "POST" && route == "/v1/request-landing":
	case s.Method == "GET" && strings.HasPrefix(route+"/", "/public/"):
	case s.Method == "GET" && route == "/ws":
	case s.Method == "POST" && route == "/grpc.health.v1.Health/Check":
	case s.Method == "GET" && route == "/status" && s.Host == "deathstar":
	default:
		return false
	}
	return true
}

// startProxy serves opts on a plaintext loopback listener until the test ends.
func startProxy(t testing.TB, opts inbound.Options) string {
	t.Helper()
	return serve(t, opts, "ServePlaintext", (*inbound.Server).ServePlaintext)
}

// serveHBONE serves opts' mTLS tunnel on a loopback listener until the test ends.
func serveHBONE(t testing.TB, opts inbound.Options) string {
	t.Helper()
	return serve(t, opts, "ServeHBONE", (*inbound.Server).ServeHBONE)
}

// serve runs one of the server's listeners on 127.0.0.1:0; the test fails when that
// listener returns an error on shutdown.
func serve(t testing.TB, opts inbound.Options, name string, run func(*inbound.Server, context.Context, net.Listener) error) string {
	t.Helper()
	srv, err := inbound.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(srv, ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
		srv.Close()
	})
	return ln.Addr().String()
}

// exchangeRaw writes raw to addr, half-closes, and returns the responses' statuses
// (stopping after a 101) and everything read.
func exchangeRaw(t testing.TB, addr string, raw []byte) ([]int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return exchangeConn(t, c, raw)
}

// exchangeConn is exchangeRaw on an open connection (TCP or tunnel stream).
func exchangeConn(t testing.TB, c net.Conn, raw []byte) ([]int, string) {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// A proxy that refuses a request may close before all of raw is written
	// (a deny with an unread body): the write then fails, and what matters is
	// what came back, which the caller checks.
	if _, err := c.Write(raw); err != nil {
		t.Logf("write: %v (judged by the answer)", err)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	all, _ := io.ReadAll(c)
	br := bufio.NewReader(strings.NewReader(string(all)))
	var statuses []int
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		io.Copy(io.Discard, resp.Body)
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	return statuses, string(all)
}

// readTable returns the non-comment lines of a tab-separated file.
func readTable(t testing.TB, file string) [][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(l, "#") {
			out = append(out, strings.Split(l, "\t"))
		}
	}
	return out
}
