package outbound_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/sidecar/outbound"
	"github.com/rampart-mesh/rampart/test/support"
)

// startProxy serves opts' routes on loopback listeners and returns their addresses.
func startProxy(t *testing.T, opts outbound.Options) ([]string, *outbound.Proxy) {
	t.Helper()
	p, err := outbound.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for i := range opts.Routes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		go p.ServeRoute(ln, i)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		p.Shutdown(ctx)
	})
	return addrs, p
}

func get(t *testing.T, client *http.Client, addr, path string) (int, string) {
	t.Helper()
	resp, err := client.Post("http://"+addr+path, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Many app connections over a route share ONE mTLS connection to the destination
// proxy, each as its own CONNECT stream.
func TestRouteSharesOneHBONEConnection(t *testing.T) {
	m := newMesh(t)
	app := startApp(t)
	peer := startHBONE(t, m, "deathstar")
	reg := prometheus.NewRegistry()
	addrs, _ := startProxy(t, outbound.Options{
		TLS: m.clientTLS(t, "tiefighter"), Registerer: reg, Logger: testLogger(t),
		Routes: []outbound.Route{{Listen: "127.0.0.1:0", Destination: app.Addr().String(),
			Proxy: peer.addr(), Identity: "spiffe://cluster.local/ns/default/sa/deathstar"}},
	})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}} // its own TCP connection
			defer client.CloseIdleConnections()
			for j := range 5 {
				path := fmt.Sprintf("/v1/request-landing/%d/%d", i, j)
				if code, body := get(t, client, addrs[0], path); code != 200 || body != "Ship landed POST "+path {
					t.Errorf("%s: %d %q", path, code, body)
				}
			}
		}()
	}
	wg.Wait()
	conns, streams := peer.counts()
	if conns != 1 || streams != 20 {
		t.Fatalf("destination proxy saw %d TLS connections and %d streams, want 1 and 20", conns, streams)
	}
	if got := (metric(t, reg, "rampart_outbound_tls_handshakes_total", "ok")); got != 1 {
		t.Errorf("handshakes ok = %v, want 1", got)
	}
}

// A destination proxy that presents another SPIFFE ID is refused at the handshake
// and logged; the HTTP client gets 503 and nothing reaches the app.
func TestWrongIdentityRefused(t *testing.T) {
	m := newMesh(t)
	app := startApp(t)
	impostor := startHBONE(t, m, "xwing")
	var logs support.Buffer
	reg := prometheus.NewRegistry()
	addrs, _ := startProxy(t, outbound.Options{
		TLS: m.clientTLS(t, "tiefighter"), Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Routes: []outbound.Route{{Listen: "127.0.0.1:0", Destination: app.Addr().String(),
			Proxy: impostor.addr(), Identity: "spiffe://cluster.local/ns/default/sa/deathstar"}},
	})
	code, _ := get(t, &http.Client{}, addrs[0], "/v1/request-landing")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", code)
	}
	if _, streams := impostor.counts(); streams != 0 {
		t.Fatalf("%d streams reached the impostor", streams)
	}
	if !strings.Contains(logs.String(), "destination proxy refused") || !strings.Contains(logs.String(), "sa/deathstar") {
		t.Errorf("log does not name the refusal: %s", logs.String())
	}
	if got := (metric(t, reg, "rampart_outbound_tls_handshakes_total", "refused")); got != 1 {
		t.Errorf("refused handshakes = %v, want 1", got)
	}
}

// An unreachable destination proxy costs at most the connect timeout; HTTP clients
// get 503, other clients a closed connection.
func TestUnreachableDestinationProxy(t *testing.T) {
	m := newMesh(t)
	closed := mustClosedAddr(t)
	silent := silentListener(t) // accepts TCP, never answers the TLS handshake
	tests := []struct {
		name, proxy string
		http        bool
	}{
		{"refused, HTTP client", closed, true},
		{"handshake timeout, HTTP client", silent, true},
		{"handshake timeout, opaque client", silent, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addrs, _ := startProxy(t, outbound.Options{
				TLS: m.clientTLS(t, "tiefighter"), ConnectTimeout: 300 * time.Millisecond,
				Routes: []outbound.Route{{Listen: "127.0.0.1:0", Destination: "127.0.0.1:80", Proxy: tt.proxy}},
			})
			c, err := net.Dial("tcp", addrs[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second)) // a hang fails the test, not CI
			if tt.http {
				io.WriteString(c, "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\n\r\n")
			} else {
				io.WriteString(c, "\x16\x03\x01 opaque bytes")
			}
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("read: %v (connection not closed?)", err)
			}
			if want := tt.http; strings.HasPrefix(string(got), "HTTP/1.1 503 ") != want {
				t.Fatalf("got %q, want 503: %v", got, want)
			}
		})
	}
}

func TestPlainRoutePassesThrough(t *testing.T) {
	app := startApp(t)
	reg := prometheus.NewRegistry()
	addrs, _ := startProxy(t, outbound.Options{Registerer: reg,
		Routes: []outbound.Route{{Listen: "127.0.0.1:0", Destination: app.Addr().String(), Plain: true}}})
	client := &http.Client{}
	if code, body := get(t, client, addrs[0], "/v1/request-landing"); code != 200 || body != "Ship landed POST /v1/request-landing" {
		t.Fatalf("%d %q", code, body)
	}
	client.CloseIdleConnections()
	support.Eventually(t, "a passthrough connection counted", func() bool {
		return (metric(t, reg, "rampart_connections_total", "passthrough", "ok")) == 1
	})
}

func TestBadRoutesRejected(t *testing.T) {
	tests := []struct {
		route outbound.Route
		tls   bool
		want  string
	}{
		{outbound.Route{Destination: "127.0.0.1:80"}, true, "listen address missing"},
		{outbound.Route{Listen: ":1", Destination: "deathstar:80"}, true, "destination"},
		{outbound.Route{Listen: ":1", Destination: "127.0.0.1:80"}, false, "needs client TLS"},
		{outbound.Route{Listen: ":1", Destination: "127.0.0.1:80", Proxy: "x"}, true, "proxy"},
		{outbound.Route{Listen: ":1", Destination: "127.0.0.1:80", Identity: "deathstar"}, true, "identity"},
	}
	m := newMesh(t)
	for _, tt := range tests {
		opts := outbound.Options{Routes: []outbound.Route{tt.route}}
		if tt.tls {
			opts.TLS = m.clientTLS(t, "tiefighter")
		}
		if _, err := outbound.New(opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.route, err, tt.want)
		}
	}
}

// Run stops accepting at cancel and lets an open connection finish.
func TestRunDrainsOnCancel(t *testing.T) {
	app := startApp(t)
	listen := mustClosedAddr(t)
	reg := prometheus.NewRegistry()
	p, err := outbound.New(outbound.Options{DrainTimeout: 5 * time.Second, Registerer: reg,
		Routes: []outbound.Route{{Listen: listen, Destination: app.Addr().String(), Plain: true}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	var c net.Conn
	support.Eventually(t, "the listener", func() bool { c, err = net.Dial("tcp", listen); return err == nil })
	support.Eventually(t, "one active connection", func() bool { return metric(t, reg, "rampart_outbound_active_connections") == 1 })
	cancel()
	time.Sleep(50 * time.Millisecond) // let Run close the listener first
	io.WriteString(c, "POST /v1/request-landing HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	got, _ := io.ReadAll(c)
	c.Close()
	if !strings.Contains(string(got), "Ship landed") {
		t.Fatalf("in-flight connection got %q", got)
	}
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if c2, err := net.Dial("tcp", listen); err == nil {
		c2.Close()
		t.Fatal("still accepting after shutdown")
	}
}
