package inbound_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

var td = spiffeid.RequireTrustDomainFromString("cluster.local")

// mesh is one built-in CA, a deathstar proxy on HBONE in front of a recording app,
// and SVID sources for the ships.
type mesh struct {
	ca    *identity.CA
	app   *app
	hbone string // the deathstar proxy's HBONE address
	ds    spiffeid.ID
	port  string // the app's port, as ships CONNECT to it
}

func newMesh(t testing.TB, policy string, tweak func(*inbound.Options)) *mesh {
	t.Helper()
	ca, err := identity.NewCA(td, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := &mesh{ca: ca, app: startApp(t), ds: workloadID(t, "deathstar")}
	_, m.port, _ = net.SplitHostPort(m.app.addr)
	wl, err := inbound.LoadWorkloads("testdata/workloads.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts := inbound.Options{
		Authorizer:  engine(t, policy),
		LocalID:     m.ds.String(),
		LocalLabels: map[string]string{"app": "deathstar", "org": "empire"},
		Workloads:   wl,
		TLS:         identity.ServerConfig(m.source(t, "deathstar"), td, identity.TLSOptions{}),
	}
	if tweak != nil {
		tweak(&opts)
	}
	m.hbone = serveHBONE(t, opts)
	return m
}

func workloadID(t testing.TB, sa string) spiffeid.ID {
	id, err := identity.NewWorkloadID(td, "default", sa)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (m *mesh) source(t testing.TB, sa string) identity.Source {
	src, err := identity.NewRotatingSource(m.ca, workloadID(t, sa), identity.RotatingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// ship is a test-only HBONE client: an http2.Transport over the identity client
// config, dialling from the ship's own loopback address.
type ship struct {
	t  testing.TB
	tr *http2.Transport
	m  *mesh
}

func (m *mesh) ship(t testing.TB, sa, fromIP string) *ship {
	cfg := identity.ClientConfig(m.source(t, sa), identity.AllowID(m.ds), identity.TLSOptions{})
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fromIP)}, Timeout: 5 * time.Second}
	tr := &http2.Transport{
		TLSClientConfig: cfg,
		DialTLSContext: func(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(c, cfg)
			return tc, tc.HandshakeContext(ctx)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &ship{t: t, tr: tr, m: m}
}

// tunnel opens one CONNECT stream to authority and returns it as a net.Conn, or
// the status the proxy refused it with.
func (s *ship) tunnel(authority string) (net.Conn, int) {
	s.t.Helper()
	pr, pw := io.Pipe()
	req := &http.Request{
		Method: http.MethodConnect, URL: &url.URL{Scheme: "https", Host: s.m.hbone},
		Host: authority, Header: http.Header{}, Body: pr, ContentLength: -1,
	}
	resp, err := s.tr.RoundTrip(req)
	if err != nil {
		s.t.Fatalf("CONNECT %s: %v", authority, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	c := &tunnelConn{r: resp.Body, w: pw}
	s.t.Cleanup(func() { c.Close() })
	return c, 200
}

// app tunnels to the deathstar app's port (the authority is a pod address; the
// proxy always dials 127.0.0.1).
func (s *ship) app() net.Conn {
	c, status := s.tunnel("198.18.0.10:" + s.m.port)
	if c == nil {
		s.t.Fatalf("CONNECT refused: %d", status)
	}
	return c
}

// do sends one HTTP/1.1 request through a fresh tunnel.
func (s *ship) do(method, path string) (int, string) {
	return roundTrip(s.t, s.app(), fmt.Sprintf("%s %s HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 0\r\n\r\n", method, path))
}

func roundTrip(t testing.TB, c net.Conn, raw string) (int, string) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// tunnelConn is the client end of a CONNECT stream.
type tunnelConn struct {
	r io.ReadCloser
	w *io.PipeWriter
}

func (c *tunnelConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *tunnelConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *tunnelConn) CloseWrite() error           { return c.w.Close() }
func (c *tunnelConn) Close() error {
	c.w.Close()
	return c.r.Close()
}
func (c *tunnelConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *tunnelConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *tunnelConn) SetDeadline(time.Time) error      { return nil }
func (c *tunnelConn) SetReadDeadline(time.Time) error  { return nil }
func (c *tunnelConn) SetWriteDeadline(time.Time) error { return nil }

func TestStarWarsOverHBONE(t *testing.T) {
	m := newMesh(t, "../../policies/starwars", nil)
	tie := m.ship(t, "tiefighter", "127.0.0.2")
	xwing := m.ship(t, "xwing", "127.0.0.3")
	spoof := m.ship(t, "tiefighter", "127.0.0.4")
	cases := []struct {
		name         string
		s            *ship
		method, path string
		status       int
		body         string
	}{
		{"tiefighter lands", tie, "POST", "/v1/request-landing", 200, "landed POST /v1/request-landing"},
		{"tiefighter exhaust port", tie, "PUT", "/v1/exhaust-port", 403, "Access denied"},
		{"xwing refused", xwing, "POST", "/v1/request-landing", 403, "Access denied"},
		{"labels only for the SVID's own pod", spoof, "POST", "/v1/request-landing", 403, "Access denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := c.s.do(c.method, c.path)
			if status != c.status || body != c.body {
				t.Errorf("%d %q, want %d %q", status, body, c.status, c.body)
			}
			seen := m.app.take()
			if c.status != 200 {
				if len(seen) != 0 {
					t.Errorf("app saw %v, want nothing", seen)
				}
				return
			}
			want := "By=spiffe://cluster.local/ns/default/sa/deathstar;URI=spiffe://cluster.local/ns/default/sa/tiefighter"
			if len(seen) != 1 || seen[0].XFCC != want {
				t.Errorf("app saw %+v, want one request with XFCC %q", seen, want)
			}
		})
	}
}

func TestHBONEPipeliningAndKeepAlive(t *testing.T) {
	m := newMesh(t, "../../policies/starwars", nil)
	c := m.ship(t, "tiefighter", "127.0.0.2").app()
	land := "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 0\r\n\r\n"
	exhaust := "PUT /v1/exhaust-port HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 0\r\n\r\n"
	io.WriteString(c, land+exhaust+land)
	br := bufio.NewReader(c)
	var got []int
	for range 3 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		io.Copy(io.Discard, resp.Body)
		got = append(got, resp.StatusCode)
	}
	// Keep-alive: the same tunnel carries one more request afterwards.
	io.WriteString(c, land)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, resp.StatusCode)
	if fmt.Sprint(got) != "[200 403 200 200]" {
		t.Errorf("statuses %v, want [200 403 200 200]", got)
	}
	if n := len(m.app.take()); n != 3 {
		t.Errorf("app saw %d requests, want 3", n)
	}
}

func TestHBONERefusals(t *testing.T) {
	m := newMesh(t, "../../policies/starwars", func(o *inbound.Options) {
		o.PodIPs = []netip.Addr{netip.MustParseAddr("198.18.0.10")}
	})
	tie := m.ship(t, "tiefighter", "127.0.0.2")
	for _, c := range []struct {
		authority string
		status    int
	}{
		{"198.18.0.10:15020", http.StatusForbidden}, // the proxy's own admin port
		{"198.18.0.10:15008", http.StatusForbidden},
		{"198.18.0.11:" + m.port, http.StatusForbidden}, // not this pod
		{"deathstar:80", http.StatusBadRequest},
	} {
		if conn, status := tie.tunnel(c.authority); conn != nil || status != c.status {
			t.Errorf("CONNECT %s: %d, want %d", c.authority, status, c.status)
		}
	}
	// Upstream down: the app's port has nothing listening.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	c, _ := tie.tunnel("198.18.0.10:" + port)
	if status, _ := roundTrip(t, c, "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\n\r\n"); status != 503 {
		t.Errorf("app down: %d, want 503", status)
	}
}

func TestHBONERefusesUntrustedPeer(t *testing.T) {
	m := newMesh(t, "../../policies/starwars", nil)
	other, err := identity.NewCA(td, 0) // same trust domain name, different root
	if err != nil {
		t.Fatal(err)
	}
	src, err := identity.NewRotatingSource(other, workloadID(t, "tiefighter"), identity.RotatingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cfg := identity.ClientConfig(src, identity.AllowID(m.ds), identity.TLSOptions{})
	c, err := tls.Dial("tcp", m.hbone, cfg)
	if err == nil {
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil {
		t.Errorf("handshake with a foreign CA succeeded")
	}
	if len(m.app.take()) != 0 {
		t.Error("app saw a request")
	}
}

// TestOpaqueInTunnel: a server-first TCP protocol through HBONE is authorized once
// at L4 (the sniff timeout expires inside the tunnel without breaking it).
func TestOpaqueInTunnel(t *testing.T) {
	up, accepted := echoServer(t)
	_, port, _ := net.SplitHostPort(up)
	for _, open := range []bool{true, false} {
		m := newMesh(t, "testdata/policy", func(o *inbound.Options) {
			if open {
				o.LocalLabels = map[string]string{"l4": "open"}
			}
		})
		before := accepted.Load()
		c, _ := m.ship(t, "tiefighter", "127.0.0.2").tunnel("198.18.0.10:" + port)
		br := bufio.NewReader(c)
		l, _ := br.ReadString('\n')
		if open {
			io.WriteString(c, "ehlo\n")
			echo, _ := br.ReadString('\n')
			if l != "220 deathstar ready\n" || echo != "EHLO\n" {
				t.Errorf("allowed: got %q %q", l, echo)
			}
			continue
		}
		if l != "" || accepted.Load() != before {
			t.Errorf("denied: got %q, app accepted %d", l, accepted.Load()-before)
		}
	}
}
