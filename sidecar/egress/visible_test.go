package egress_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/egress"
)

// TestDenialsVisible: the policy's 403 body, one decision-log line per outcome
// with the refused host, and the metric labelled with it.
func TestDenialsVisible(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	g := e.guard(t, "a", reg)
	out := send(t, g, e.backends["google.com/http"].addr(), []byte("GET /x HTTP/1.1\r\nHost: google.com\r\n\r\n"), 0)
	if !strings.HasPrefix(string(out), "HTTP/1.1 403 Forbidden\r\n") ||
		!strings.HasSuffix(string(out), "\r\n\r\nAccess denied: egress to google.com\n") {
		t.Errorf("answer %q", out)
	}
	send(t, g, e.backends["evil.example/https"].addr(), helloFor("github.com"), 0) // spoof
	type entry struct {
		Path  string `json:"path"`
		Error string `json:"error"`
		Input struct {
			Destination struct{ Host, IP string }     `json:"destination"`
			Request     struct{ Method, Path string } `json:"request"`
		} `json:"input"`
		Rampart struct{ Allowed bool } `json:"rampart"`
	}
	var entries []entry
	for l := range strings.SplitSeq(strings.TrimSpace(e.log.String()), "\n") {
		var x entry
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		entries = append(entries, x)
	}
	if len(entries) != 2 {
		t.Fatalf("%d decision-log lines, want 2:\n%s", len(entries), e.log.String())
	}
	if d := entries[0]; d.Path != "rampart/egress/allow" || d.Rampart.Allowed ||
		d.Input.Destination.Host != "google.com" || d.Input.Request.Path != "/x" {
		t.Errorf("first line %+v", d)
	}
	if d := entries[1]; d.Rampart.Allowed || d.Input.Destination.Host != "github.com" ||
		!strings.Contains(d.Error, "127.0.0.5 is not an address of github.com") {
		t.Errorf("spoof line %+v", d)
	}
	for _, c := range []struct{ proto, host string }{{"http", "google.com"}, {"tls", "github.com"}} {
		n := counter(t, reg, c.proto, "deny", c.host)
		if n != 1 {
			t.Errorf("rampart_egress_decisions_total{%s,deny,%s} = %v", c.proto, c.host, n)
		}
	}
}

func counter(t *testing.T, reg *prometheus.Registry, proto, result, host string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rampart_egress_decisions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["protocol"] == proto && l["result"] == result && l["host"] == host {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no rampart_egress_decisions_total{%s,%s,%s}", proto, result, host)
	return 0
}

// TestRealTLSClients: crypto/tls clients through the guard: an allowed name
// completes its handshake with the real server (the hello was forwarded intact),
// a denied one fails with the access_denied alert, not a reset.
func TestRealTLSClients(t *testing.T) {
	e := newEnv(t)
	ca, roots := testCA(t)
	srv := tlsBackend(t, "127.0.0.2", "github.com", ca)
	g := e.guard(t, "a", nil)
	for _, c := range []struct {
		name    string
		wantErr string
	}{{"github.com", ""}, {"google.com", "access denied"}} {
		app := dialThrough(t, g, srv)
		tc := tls.Client(app, &tls.Config{ServerName: c.name, RootCAs: roots})
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		err := tc.Handshake()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: err %v, want %q", c.name, err, c.wantErr)
		}
		tc.Close()
	}
}

func dialThrough(t *testing.T, g interface {
	Serve(context.Context, *net.TCPConn, netip.AddrPort)
}, dst netip.AddrPort) net.Conn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		g.Serve(context.Background(), c.(*net.TCPConn), dst)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func testCA(t testing.TB) (ca, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return ca{cert, key}, pool
}

// leafCert issues a certificate for name from c.
func leafCert(t testing.TB, name string, c ca) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func tlsBackend(t testing.TB, ip, name string, c ca) netip.AddrPort {
	ln, err := tls.Listen("tcp", ip+":0", &tls.Config{Certificates: []tls.Certificate{leafCert(t, name, c)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.(*tls.Conn).Handshake()
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestMetricHostBounded: past MaxHostLabels distinct hosts, refusals are counted
// as "other", so an app cannot grow the metric without bound.
func TestMetricHostBounded(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	g, err := egress.New(egress.Options{Decider: e.engine, Resolver: e.dns.Resolver(),
		Source: rego.EgressSource{Labels: map[string]string{"app": "a"}}, MaxHostLabels: 2, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	dst := e.backends["evil.example/http"].addr()
	for _, h := range []string{"one.example", "two.example", "three.example", "four.example"} {
		send(t, g, dst, []byte("GET / HTTP/1.1\r\nHost: "+h+"\r\n\r\n"), 0)
	}
	if n := counter(t, reg, "http", "deny", "other"); n != 2 {
		t.Errorf(`host="other" counted %v, want 2`, n)
	}
}
