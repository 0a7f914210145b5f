package outbound_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// BenchmarkChain runs the whole mesh hop in one process — outbound route, pooled
// HBONE mTLS, the real inbound server with the Star Wars policy — next to a direct
// request to the same app, so a CPU profile (-cpuprofile) shows where a proxied
// request's time goes on both sides. Compare the two sub-benchmarks' ratio.
func BenchmarkChain(b *testing.B) {
	t := &testing.T{}
	m := newMesh(t)
	app := startKBApp(b)
	hbone := startInbound(b, m, app, "127.0.0.1:0", "127.0.0.1")
	p, err := outbound.New(outbound.Options{TLS: m.clientTLS(t, "tiefighter"),
		Routes: []outbound.Route{{Listen: "127.0.0.1:0", Destination: "127.0.0.1:80",
			Proxy: hbone, Identity: "spiffe://cluster.local/ns/default/sa/deathstar"}}})
	if err != nil {
		b.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go p.ServeRoute(ln, 0)
	b.Cleanup(func() { ln.Close() })
	for _, bc := range []struct{ name, addr string }{{"direct", app}, {"rampart", ln.Addr().String()}} {
		b.Run(bc.name, func(b *testing.B) {
			cpu := processCPU()
			post := keepAlive(b, bc.addr)
			for b.Loop() {
				post()
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/1e3, "cpu-us/op")
		})
		// A new connection per request (Connection: close), as a client without a
		// pool: what a connection costs on top of its request.
		b.Run(bc.name+"-conn", func(b *testing.B) {
			cpu := processCPU()
			for b.Loop() {
				postNewConn(b, bc.addr)
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/1e3, "cpu-us/op")
		})
		// Many keep-alive connections at once, as at max rate: streams share the
		// HBONE connection, so its frames share TLS records and syscalls.
		b.Run(bc.name+"-parallel", func(b *testing.B) {
			b.SetParallelism(8)
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				post := keepAlive(b, bc.addr)
				for pb.Next() {
					post()
				}
			})
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/1e3, "cpu-us/op")
		})
	}
}

// keepAlive returns a function that POSTs one request on one kept-alive
// connection to addr and checks the 1 kB answer.
func keepAlive(b *testing.B, addr string) func() {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	req := []byte("POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 2\r\n\r\n{}")
	return func() {
		c.Write(req)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != 1024 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}

// postNewConn POSTs one request on a new connection and reads the answer to its end.
func postNewConn(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || n != 1024 {
		b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
	}
}

// processCPU is the CPU time (user+system) this process has used, in ns: the
// client, both proxies and the app all run here, so per request it is the whole
// chain's cost; compare with direct.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func startKBApp(b testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("r", 1024)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// startInbound serves deathstar's HBONE listener on addr with the Star Wars
// bundle; the peer at tiefighterIP is tiefighter (org=empire) for source.labels.
func startInbound(b testing.TB, m *mesh, app, addr, tiefighterIP string) string {
	t := &testing.T{}
	e, err := rego.New(rego.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	if err := e.LoadDir(context.Background(), "main", "../../policies/starwars"); err != nil {
		b.Fatal(err)
	}
	src := m.source(t, "deathstar")
	s, err := inbound.New(inbound.Options{Authorizer: e, Upstream: app,
		LocalID: "spiffe://cluster.local/ns/default/sa/deathstar", LocalLabels: map[string]string{"app": "deathstar"},
		Workloads: inbound.FileWorkloads{netip.MustParseAddr(tiefighterIP): {Namespace: "default",
			ServiceAccount: "tiefighter", Labels: map[string]string{"org": "empire"}}},
		TLS: identity.ServerConfig(src, td, identity.TLSOptions{})})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.ServeHBONE(ctx, ln)
	b.Cleanup(func() { cancel(); ln.Close(); s.Close() })
	return ln.Addr().String()
}
