package egress_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/egress"
	"github.com/rampart-mesh/rampart/sidecar/egress/egresstest"
	"github.com/rampart-mesh/rampart/test/support"
)

// hosts of the test "internet": each name on its own loopback address.
var hostIPs = map[string]string{
	"github.com": "127.0.0.2", "httpbin.org": "127.0.0.3",
	"google.com": "127.0.0.4", "evil.example": "127.0.0.5",
}

// backend records every byte it receives and answers a short HTTP response once
// the client has finished sending.
type backend struct {
	ln    net.Listener
	mu    sync.Mutex
	got   bytes.Buffer
	conns int
}

func startBackend(t testing.TB, ip string) *backend {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns++
			b.mu.Unlock()
			go b.serve(c)
		}
	}()
	return b
}

func (b *backend) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(recorder{c, b})
	if p, err := br.Peek(len(http2.ClientPreface)); err == nil && string(p) == http2.ClientPreface {
		// h2c: answer each stream "ok" (the recorder still keeps every byte).
		(&http2.Server{}).ServeConn(peekedConn{c, br}, &http2.ServeConnOpts{Handler: http.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })})
		return
	}
	buf := make([]byte, 4096)
	for {
		if _, err := br.Read(buf); err != nil {
			break
		}
	}
	_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
}

// recorder keeps every byte read from a backend connection.
type recorder struct {
	net.Conn
	b *backend
}

func (r recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.b.mu.Lock()
	r.b.got.Write(p[:n])
	r.b.mu.Unlock()
	return n, err
}

type peekedConn struct {
	net.Conn
	br *bufio.Reader
}

func (c peekedConn) Read(p []byte) (int, error) { return c.br.Read(p) }

func (b *backend) received() (string, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.String(), b.conns
}

func (b *backend) addr() netip.AddrPort { return netip.MustParseAddrPort(b.ln.Addr().String()) }

// env is the test internet: backends per host and port kind, DNS, the policy.
type env struct {
	backends map[string]*backend // "github.com/https"
	dns      *egresstest.DNS
	engine   *rego.Engine
	log      *support.Buffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{backends: map[string]*backend{}, log: &support.Buffer{}}
	records := map[string][]netip.Addr{}
	for name, ip := range hostIPs {
		records[name] = []netip.Addr{netip.MustParseAddr(ip)}
		for _, port := range []string{"http", "https"} {
			e.backends[name+"/"+port] = startBackend(t, ip)
		}
	}
	dns, err := egresstest.ServeDNS("127.0.0.1:0", records)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	e.dns = dns
	// The egress bundle alone: its path is the engine's decision so it loads as
	// the owner (the proxy loads it beside the inbound bundles).
	eng, err := rego.New(rego.WithDecision(rego.EgressDecision), rego.WithDecisionLog(e.log))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.LoadDir(context.Background(), "egress", "../../policies/egress"); err != nil {
		t.Fatal(err)
	}
	e.engine = eng
	return e
}

// guard returns a guard deciding for a pod labelled app=app.
func (e *env) guard(t testing.TB, app string, reg prometheus.Registerer) *egress.Guard {
	t.Helper()
	// A hello arriving later than HelloTimeout is decided by address (denied):
	// long enough for a loaded 2-core machine, short enough for the silent case.
	g, err := egress.New(egress.Options{
		Decider: e.engine,
		Source: rego.EgressSource{Principal: "spiffe://cluster.local/ns/default/sa/" + app,
			Namespace: "default", Labels: map[string]string{"app": app}},
		Resolver: e.dns.Resolver(), HelloTimeout: time.Second,
		Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// send connects through g to dst, writes raw in segments of seg bytes (0: at
// once), half-closes, and returns all the guard answered.
func send(t *testing.T, g *egress.Guard, dst netip.AddrPort, raw []byte, seg int) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
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
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	for len(raw) > 0 {
		n := len(raw)
		if seg > 0 {
			n = min(seg, n)
		}
		if _, err := c.Write(raw[:n]); err != nil {
			break // the guard may refuse before the app is done
		}
		raw = raw[n:]
		if seg > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	out, _ := io.ReadAll(c)
	<-served
	return out
}

func helloFor(name string) []byte { return egresstest.Hello{Names: []string{name}}.Bytes() }
