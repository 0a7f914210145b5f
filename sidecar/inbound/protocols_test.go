package inbound_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// TestGRPC calls a real gRPC server through the plaintext proxy: the allowed method
// works, the other is denied per request on the same connection.
func TestGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: ln.Addr().String()})
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(cc)
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("Check: %v %v, want SERVING", resp, err)
	}
	_, err = hc.List(ctx, &healthpb.HealthListRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("List: %v, want PermissionDenied", err)
	}
}

// TestH2CInTunnel speaks HTTP/2 inside an HBONE stream: each stream is authorized.
func TestH2CInTunnel(t *testing.T) {
	m := newMesh(t, "../../policies/starwars", nil)
	tie := m.ship(t, "tiefighter", "127.0.0.2")
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(context.Context, string, string, *tls.Config) (net.Conn, error) {
		return tie.app(), nil
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/v1/request-landing", 200},
		{"PUT", "/v1/exhaust-port", 403},
		{"post", "/v1/request-landing", 400},
		{"POST", "/v1/request-landing", 200},
	} {
		req, _ := http.NewRequest(c.method, "http://deathstar"+c.path, strings.NewReader("x"))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}
	seen := m.app.take()
	if len(seen) != 2 || !strings.Contains(seen[0].XFCC, "sa/tiefighter") {
		t.Errorf("app saw %+v, want two landings with the tiefighter's XFCC", seen)
	}
}

// TestWebSocketInTunnel upgrades inside an HBONE stream and exchanges messages.
func TestWebSocketInTunnel(t *testing.T) {
	m := newMesh(t, "testdata/policy", nil)
	c := m.ship(t, "tiefighter", "127.0.0.2").app()
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: deathstar\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for _, msg := range []string{"hello\n", "PUT /v1/exhaust-port HTTP/1.1\n"} {
		io.WriteString(c, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != strings.ToUpper(msg) {
			t.Errorf("echo of %q: %q %v", msg, got, err)
		}
	}
	if n := len(m.app.take()); n != 1 {
		t.Errorf("app saw %d HTTP requests, want 1 (the upgrade)", n)
	}
}

// echoServer is an opaque, server-first TCP app: it greets, then echoes upper-cased.
func echoServer(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				io.WriteString(c, "220 deathstar ready\n")
				br := bufio.NewReader(c)
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					io.WriteString(c, strings.ToUpper(l))
				}
			}()
		}
	}()
	return ln.Addr().String(), &accepted
}

func TestOpaqueTCP(t *testing.T) {
	up, accepted := echoServer(t)
	pol := engine(t, "testdata/policy")
	open := startProxy(t, inbound.Options{Authorizer: pol, Mode: inbound.Permissive, Upstream: up, LocalLabels: map[string]string{"l4": "open"}})
	closed := startProxy(t, inbound.Options{Authorizer: pol, Mode: inbound.Permissive, Upstream: up})
	strict := startProxy(t, inbound.Options{Authorizer: pol, Mode: inbound.Strict, Upstream: up, LocalLabels: map[string]string{"l4": "open"}})

	t.Run("server-first allowed", func(t *testing.T) {
		c := dial(t, open)
		br := bufio.NewReader(c)
		if l, err := br.ReadString('\n'); l != "220 deathstar ready\n" {
			t.Fatalf("greeting %q %v", l, err)
		}
		io.WriteString(c, "ehlo\n")
		if l, _ := br.ReadString('\n'); l != "EHLO\n" {
			t.Errorf("echo %q", l)
		}
	})
	t.Run("client-first allowed", func(t *testing.T) {
		c := dial(t, open)
		io.WriteString(c, "\x16\x03\x01binary\n")
		b, _ := io.ReadAll(io.LimitReader(c, int64(len("220 deathstar ready\n\x16\x03\x01BINARY\n"))))
		if string(b) != "220 deathstar ready\n\x16\x03\x01BINARY\n" {
			t.Errorf("got %q", b)
		}
	})
	before := accepted.Load()
	for name, addr := range map[string]string{"denied": closed, "strict": strict} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr)
			io.WriteString(c, "\x16\x03\x01binary\n")
			if b, err := io.ReadAll(c); len(b) != 0 {
				t.Errorf("got %q %v, want the connection closed", b, err)
			}
		})
	}
	if n := accepted.Load() - before; n != 0 {
		t.Errorf("the app accepted %d denied connections", n)
	}
}

// TestSlowClientsTimeOut: a head that never ends and a silent kept-alive connection
// are both closed by the proxy (never a hang).
func TestSlowClientsTimeOut(t *testing.T) {
	a := startApp(t)
	addr := startProxy(t, inbound.Options{
		Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr,
		Timeouts: inbound.Timeouts{ReadHeader: 300 * time.Millisecond, Idle: 300 * time.Millisecond},
	})
	for _, tc := range []struct{ name, raw, want string }{
		{"unfinished head", "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\n", ""},
		{"empty lines, no request", "\r\n\r\n", ""},
		{"head cut after an empty-line look-alike", "GET /public/a HTTP/1.1\r\nHost: deathstar\r\n\r\nGET /public/b HTTP/1.1\r\n", "HTTP/1.1 200 OK"},
		{"idle keep-alive", "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\n\r\n", "HTTP/1.1 200 OK"},
		{"stalled body", "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 10\r\n\r\nabc", "HTTP/1.1 408 Request Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			io.WriteString(c, tc.raw)
			b, err := io.ReadAll(c)
			if err != nil {
				t.Errorf("want the proxy to close the connection, got %v", err)
			}
			if !strings.HasPrefix(string(b), tc.want) {
				t.Errorf("got %.40q, want it to start with %q", b, tc.want)
			}
		})
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUpstreamKeepAlive: requests reuse pooled connections to the app, and a pooled
// connection the app closed in the meantime is not used for a request with a body.
func TestUpstreamKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	srv := &http.Server{
		Handler:     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }),
		IdleTimeout: 200 * time.Millisecond,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: ln.Addr().String()})
	land := "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 5\r\n\r\nhello"
	for i := range 3 {
		if st, all := exchangeRaw(t, addr, []byte(land)); len(st) != 1 || st[0] != 200 {
			t.Fatalf("request %d: %v\n%s", i, st, all)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("app saw %d connections for 3 sequential requests, want 1 (pooled)", n)
	}
	time.Sleep(500 * time.Millisecond) // the app closes the idle pooled connection
	if st, all := exchangeRaw(t, addr, []byte(land)); len(st) != 1 || st[0] != 200 {
		t.Errorf("after the app closed the pooled connection: %v\n%s", st, all)
	}
}

// TestSlowAppTimesOut: an app that does not answer within the Response timeout gets
// the client a 503 over HTTP/1.1 and HTTP/2 alike, instead of a hang.
func TestSlowAppTimesOut(t *testing.T) {
	a := startApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr,
		Timeouts: inbound.Timeouts{Response: 200 * time.Millisecond}})
	if st, all := exchangeRaw(t, addr, []byte("GET /public/slow HTTP/1.1\r\nHost: deathstar\r\n\r\n")); len(st) != 1 || st[0] != 503 {
		t.Errorf("HTTP/1.1: %v\n%s", st, all)
	}
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, n, _ string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, n, addr)
	}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "http://deathstar/public/slow", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("HTTP/2: %d, want 503", resp.StatusCode)
	}
}
