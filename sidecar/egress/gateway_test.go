package egress_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/egress"
	"github.com/rampart-mesh/rampart/sidecar/egress/egresstest"
)

// tunnel stands in for HBONE between a pod's proxy and the gateway (the real
// mTLS tunnel is tested in sidecar and test/e2e): a loopback TCP pair whose far
// end the gateway guard serves as the connection of pod app to dst.
type tunnel struct {
	gw    *egress.Guard
	dials atomic.Int32
}

func (tn *tunnel) dialer(t *testing.T, app string) func(context.Context, netip.AddrPort) (egress.Conn, error) {
	return func(ctx context.Context, dst netip.AddrPort) (egress.Conn, error) {
		tn.dials.Add(1)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return nil, err
		}
		s, err := ln.Accept()
		if err != nil {
			c.Close()
			return nil, err
		}
		src := rego.EgressSource{Principal: "spiffe://cluster.local/ns/default/sa/" + app,
			Namespace: "default", Labels: map[string]string{"app": app}}
		go func() {
			defer s.Close()
			tn.gw.ServeGateway(context.Background(), s.(*net.TCPConn), src, dst)
		}()
		return c.(*net.TCPConn), nil
	}
}

// podGuard is the guard of pod app routing github.com and google.com through
// the gateway.
func (e *env) podGuard(t *testing.T, app string, tn *tunnel) *egress.Guard {
	t.Helper()
	g, err := egress.New(egress.Options{Decider: e.engine, Resolver: e.dns.Resolver(), HelloTimeout: time.Second,
		Source: rego.EgressSource{Principal: "spiffe://cluster.local/ns/default/sa/" + app,
			Namespace: "default", Labels: map[string]string{"app": app}},
		Gateway: &egress.Gateway{Hosts: []string{"github.com", "*.google.com", "google.com"}, Dial: tn.dialer(t, app)}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGatewayRoutes: names routed through the gateway are decided there with the
// source pod's identity and labels and its anti-spoof check; other names stay
// with the pod's own proxy, which never dials a routed name itself.
func TestGatewayRoutes(t *testing.T) {
	e := newEnv(t)
	tn := &tunnel{gw: e.guard(t, "gateway", nil)}
	get := func(host string) []byte { return []byte("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n") }
	for _, c := range []struct {
		name, app, to, port string
		raw                 []byte
		want                string // prefix of the answer ("" = empty)
		reached             int    // connections the "to" backend received
		viaGateway          bool
	}{
		{"a tls github via gateway", "a", "github.com", "https", helloFor("github.com"), "HTTP/1.1 200 OK", 1, true},
		{"a http github via gateway", "a", "github.com", "http", get("github.com"), "HTTP/1.1 200 OK", 1, true},
		{"b tls github denied at gateway", "b", "github.com", "https", helloFor("github.com"), string(alert), 0, true},
		{"b http github denied at gateway", "b", "github.com", "http", get("GitHub.com."), "HTTP/1.1 403 Forbidden", 0, true},
		{"b google via gateway", "b", "google.com", "https", helloFor("google.com"), "HTTP/1.1 200 OK", 1, true},
		{"a spoofed sni refused at gateway", "a", "evil.example", "https", helloFor("github.com"), string(alert), 0, true},
		{"a spoofed host refused at gateway", "a", "evil.example", "http", get("github.com"), "HTTP/1.1 403 Forbidden", 0, true},
		{"a unrouted httpbin stays local", "a", "httpbin.org", "https", helloFor("httpbin.org"), "HTTP/1.1 200 OK", 1, false},
		{"a no sni to github decided locally by address", "a", "github.com", "https", egresstest.Hello{}.Bytes(), string(alert), 0, false},
		{"a second request to routed host refused by the pod", "a", "httpbin.org", "http",
			append(get("httpbin.org"), get("github.com")...), "HTTP/1.1 200 OK", 1, false},
		{"c without rules: routed name still decided at gateway", "c", "github.com", "https", helloFor("github.com"), string(alert), 0, true},
		{"c without rules: unrouted name passes", "c", "httpbin.org", "http", get("httpbin.org"), "HTTP/1.1 200 OK", 1, false},
		{"c without rules: unrouted name spoofed to a routed address", "c", "github.com", "https", helloFor("httpbin.org"), string(alert), 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := e.backends[c.to+"/"+c.port]
			_, before := b.received()
			dials := tn.dials.Load()
			out := string(send(t, e.podGuard(t, c.app, tn), b.addr(), c.raw, 0))
			if !strings.HasPrefix(out, c.want) || (c.want == "" && out != "") {
				t.Errorf("answer %q, want %q…", out, c.want)
			}
			if strings.Contains(c.name, "second request") && !strings.HasSuffix(out, "github.com is reached through the egress gateway\n") {
				t.Errorf("answer %q lacks the refusal of the second request", out)
			}
			if _, n := b.received(); n-before != c.reached {
				t.Errorf("%s received %d connections, want %d", c.to, n-before, c.reached)
			}
			if got := tn.dials.Load() - dials; got != map[bool]int32{true: 1}[c.viaGateway] {
				t.Errorf("%d tunnels to the gateway, want via gateway %v", got, c.viaGateway)
			}
		})
	}
	if out := e.log.String(); !strings.Contains(out, `"principal":"spiffe://cluster.local/ns/default/sa/b"`) ||
		!strings.Contains(out, `Access denied: egress to github.com`) ||
		!strings.Contains(out, "github.com is reached through the egress gateway") {
		t.Errorf("decision log lacks the gateway's denial of b or the pod's refusal:\n%.3000s", out)
	}
}
