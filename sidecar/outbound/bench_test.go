package outbound_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// BenchmarkHop compares one keep-alive HTTP/1.1 request straight to the app with
// the same request through an outbound route and an HBONE stream (to the test's
// minimal HBONE server), side by side in one run. Report the ratio, not the µs.
func BenchmarkHop(b *testing.B) {
	t := &testing.T{}
	m := newMesh(t)
	app := startApp(t)
	peer := startHBONE(t, m, "deathstar")
	p, err := outbound.New(outbound.Options{TLS: m.clientTLS(t, "tiefighter"),
		Routes: []outbound.Route{{Listen: "127.0.0.1:0", Destination: app.Addr().String(),
			Proxy: peer.addr(), Identity: "spiffe://cluster.local/ns/default/sa/deathstar"}}})
	if err != nil {
		b.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go p.ServeRoute(ln, 0)
	defer ln.Close()
	for _, bc := range []struct{ name, addr string }{{"direct", app.Addr().String()}, {"hbone", ln.Addr().String()}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := net.Dial("tcp", bc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for b.Loop() {
				io.WriteString(c, "POST /v1/request-landing HTTP/1.1\r\nHost: d\r\nContent-Length: 1\r\n\r\nx")
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	_ = strings.NewReader
}
