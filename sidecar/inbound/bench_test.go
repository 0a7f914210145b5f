package inbound_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// kbApp answers every request with 1 kB after reading the body.
func kbApp(b *testing.B) string {
	b.Helper()
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

// keepAlive is a minimal HTTP/1.1 client on one kept-alive connection.
type keepAlive struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

func newKeepAlive(b *testing.B, c net.Conn) *keepAlive {
	req := "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n" + strings.Repeat("q", 1024)
	b.Cleanup(func() { c.Close() })
	return &keepAlive{c: c, br: bufio.NewReader(c), req: []byte(req)}
}

// do sends one 1 kB request and reads the 1 kB response; it returns the latency.
func (k *keepAlive) do(b *testing.B) time.Duration {
	start := time.Now()
	if _, err := k.c.Write(k.req); err != nil {
		b.Fatal(err)
	}
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	d := time.Since(start)
	if resp.StatusCode != 200 || n != 1024 {
		b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
	}
	return d
}

// BenchmarkInboundHop measures what one inbound hop adds to a 1 kB keep-alive
// request with a real Star Wars decision, against a direct connection to the same
// app in the same run (requests alternate, so both see the same machine load).
// plaintext: the 15006 path; the source labels a tiefighter would carry are added
// so the Star Wars policy allows. hbone: a tiefighter SVID over mTLS + HTTP/2 CONNECT.
func BenchmarkInboundHop(b *testing.B) {
	for _, path := range []string{"plaintext", "hbone"} {
		b.Run(path, func(b *testing.B) {
			app := kbApp(b)
			direct := newKeepAlive(b, dialB(b, app))
			var proxied *keepAlive
			if path == "plaintext" {
				proxied = newKeepAlive(b, dialB(b, plaintextStarWars(b, app)))
			} else {
				proxied = newKeepAlive(b, hboneStarWars(b, app))
			}
			for range 200 { // warm up pools, TLS, OPA
				direct.do(b)
				proxied.do(b)
			}
			var d, p []time.Duration
			b.ResetTimer()
			for range b.N {
				d = append(d, direct.do(b))
				p = append(p, proxied.do(b))
			}
			b.StopTimer()
			report(b, d, p)
		})
	}
}

func report(b *testing.B, direct, proxied []time.Duration) {
	dp50, dp99 := percentiles(direct)
	pp50, pp99 := percentiles(proxied)
	b.ReportMetric(float64(dp50.Microseconds()), "direct-p50-µs")
	b.ReportMetric(float64(dp99.Microseconds()), "direct-p99-µs")
	b.ReportMetric(float64(pp50.Microseconds()), "proxied-p50-µs")
	b.ReportMetric(float64(pp99.Microseconds()), "proxied-p99-µs")
	b.ReportMetric(float64((pp50 - dp50).Microseconds()), "added-p50-µs")
	b.ReportMetric(float64((pp99 - dp99).Microseconds()), "added-p99-µs")
	b.ReportMetric(float64(pp50)/float64(dp50), "p50-ratio")
	b.ReportMetric(float64(pp99)/float64(dp99), "p99-ratio")
}

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100]
}

func dialB(b *testing.B, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// plaintextStarWars is a plaintext proxy deciding with the Star Wars bundle, the
// tiefighter's labels filled in (a plaintext peer has none).
func plaintextStarWars(b *testing.B, app string) string {
	e := engine(b, "../../policies/starwars")
	empire := map[string]string{"org": "empire", "class": "tiefighter"}
	authz := inbound.AuthorizerFunc(func(ctx context.Context, in *rego.Input) rego.Decision {
		in.Source.Labels = empire
		return e.Decide(ctx, in)
	})
	return startProxy(b, inbound.Options{Authorizer: authz, Mode: inbound.Permissive, Upstream: app,
		LocalLabels: map[string]string{"app": "deathstar"}})
}

// hboneStarWars opens a tiefighter tunnel to a deathstar proxy in front of app.
func hboneStarWars(b *testing.B, app string) net.Conn {
	m := newMesh(b, "../../policies/starwars", func(o *inbound.Options) { o.Upstream = app })
	_, m.port, _ = net.SplitHostPort(app)
	c, status := m.ship(b, "tiefighter", "127.0.0.2").tunnel(fmt.Sprintf("198.18.0.10:%s", m.port))
	if c == nil {
		b.Fatalf("CONNECT: %d", status)
	}
	return c
}

// BenchmarkInboundConnPerRequest is a client that opens a connection per request
// (Connection: close) through the plaintext proxy: what a new connection costs.
func BenchmarkInboundConnPerRequest(b *testing.B) {
	proxy := plaintextStarWars(b, kbApp(b))
	req := []byte("POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
	b.ReportAllocs()
	for b.Loop() {
		c := dialB(b, proxy)
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		c.Close()
		if resp.StatusCode != 200 || n != 1024 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}
