package inbound_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/test/support"
)

const landing = "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 0\r\n\r\n"

// keptAlive dials addr from the local address from, has one request answered and
// returns the connection, still open, with its reader.
func keptAlive(t *testing.T, from, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, br, ok := tryKeptAlive(t, from, addr)
	if !ok {
		t.Fatalf("first request from %s not answered 200", from)
	}
	return c, br
}

// tryKeptAlive is keptAlive reporting failure instead of failing the test.
func tryKeptAlive(t *testing.T, from, addr string) (net.Conn, *bufio.Reader, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if ask(t, c, br) != 200 {
		c.Close()
		return nil, nil, false
	}
	return c, br, true
}

// ask sends one landing request on c and returns the status, or 0 when the
// connection ended without an answer.
func ask(t *testing.T, c net.Conn, br *bufio.Reader) int {
	t.Helper()
	if _, err := io.WriteString(c, landing); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// served dials addr from from and reports whether a request on it was answered 200.
func served(t *testing.T, from, addr string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return ask(t, c, bufio.NewReader(c)) == 200
}

// refusedAtOnce dials addr from from and reports whether the proxy closed the
// connection with a request on it unanswered, well before any timeout.
func refusedAtOnce(t *testing.T, from, addr string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(5 * time.Second))
	return ask(t, c, bufio.NewReader(c)) == 0 && time.Since(start) < 2*time.Second
}

// TestConnectionLimits: past the listener's limit or a source address's limit a
// new plaintext connection is closed at once and counted; other peers and later
// connections are served.
func TestConnectionLimits(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := startApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr,
		Registerer: reg, Limits: inbound.Limits{MaxConnections: 3, MaxConnectionsPerAddress: 2}})
	keptAlive(t, "127.0.0.1", addr)
	c2, _ := keptAlive(t, "127.0.0.1", addr)
	if !refusedAtOnce(t, "127.0.0.1", addr) {
		t.Error("a third connection from 127.0.0.1 was served past MaxConnectionsPerAddress 2")
	}
	// The refused connection was counted toward the listener until its handler
	// closed it: wait for that.
	support.Eventually(t, "a connection from another address", func() bool { _, _, ok := tryKeptAlive(t, "127.0.0.2", addr); return ok })
	if !refusedAtOnce(t, "127.0.0.3", addr) {
		t.Error("a fourth connection was served past MaxConnections 3")
	}
	c2.Close()
	support.Eventually(t, "a connection after one closed", func() bool { return served(t, "127.0.0.3", addr) })
	for _, w := range []struct {
		reason string
		want   float64
	}{{"peer_limit", 1}, {"listener_limit", 1}} {
		got := counter(t, reg, "rampart_inbound_connections_refused_total", map[string]string{"listener": "plaintext", "reason": w.reason})
		if got < w.want {
			t.Errorf("refused{%s} = %v, want >= %v", w.reason, got, w.want)
		}
	}
}

// TestHBONEIdentityLimit: one SPIFFE ID gets at most MaxConnectionsPerIdentity
// HBONE connections, whatever addresses it dials from; another ID is unaffected.
func TestHBONEIdentityLimit(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMesh(t, "../../policies/starwars", func(o *inbound.Options) {
		o.Registerer = reg
		o.Limits.MaxConnectionsPerIdentity = 1
	})
	if status, _ := m.ship(t, "tiefighter", "127.0.0.2").do("POST", "/v1/request-landing"); status != 200 {
		t.Fatalf("first tiefighter connection: %d", status)
	}
	// A second transport is a second TLS connection of the same identity. The
	// first one stays open (pooled by its transport).
	second := m.ship(t, "tiefighter", "127.0.0.3")
	if _, err := second.tr.RoundTrip(connectReq(m)); err == nil {
		t.Error("a second tiefighter connection was served past MaxConnectionsPerIdentity 1")
	}
	if status, _ := m.ship(t, "xwing", "127.0.0.4").do("POST", "/v1/request-landing"); status != 403 {
		t.Errorf("xwing (another identity): %d, want its policy answer 403", status)
	}
	if got := counter(t, reg, "rampart_inbound_connections_refused_total", map[string]string{"listener": "hbone", "reason": "peer_limit"}); got != 1 {
		t.Errorf("refused{hbone,peer_limit} = %v, want 1", got)
	}
}

// connectReq is a CONNECT to the mesh's app with an empty body.
func connectReq(m *mesh) *http.Request {
	return &http.Request{
		Method: http.MethodConnect, URL: &url.URL{Scheme: "https", Host: m.hbone},
		Host: "198.18.0.10:" + m.port, Header: http.Header{}, Body: http.NoBody,
	}
}
