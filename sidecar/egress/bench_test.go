package egress_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// BenchmarkConnectFirstByte measures what an HTTPS client waits for egress: TCP
// connect, TLS handshake, first byte of the server's data, over loopback, three
// ways in one run: straight to the server (direct), through a proxy that splices
// without looking (passthrough, what the outbound proxy does for undecided
// egress), and through the guard (SNI peek, DNS check of the name against the
// original destination, OPA decision, then splice). Run with -count to interleave.
func BenchmarkConnectFirstByte(b *testing.B) {
	e := newEnv(b)
	ca, roots := testCA(b)
	srv := firstByteServer(b, "127.0.0.2", "github.com", ca)
	g := e.guard(b, "a", nil)
	splicer := proxyFunc(b, func(app *net.TCPConn) {
		up, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(srv))
		if err != nil {
			return
		}
		defer up.Close()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = up.ReadFrom(app); _ = up.CloseWrite() }()
		_, _ = app.ReadFrom(up)
		wg.Wait()
	})
	guarded := proxyFunc(b, func(app *net.TCPConn) { g.Serve(context.Background(), app, srv) })
	cfg := &tls.Config{ServerName: "github.com", RootCAs: roots, ClientSessionCache: nil}
	for _, c := range []struct {
		name string
		addr netip.AddrPort
	}{{"direct", srv}, {"passthrough", splicer}, {"egress", guarded}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				conn, err := tls.Dial("tcp", c.addr.String(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				var one [1]byte
				if _, err := conn.Read(one[:]); err != nil {
					b.Fatal(err)
				}
				conn.Close()
			}
		})
	}
}

// firstByteServer is a TLS server that writes one byte after the handshake.
func firstByteServer(b *testing.B, ip, name string, c ca) netip.AddrPort {
	ln, err := tls.Listen("tcp", ip+":0", &tls.Config{Certificates: []tls.Certificate{leafCert(b, name, c)}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = conn.Write([]byte{'x'})
				var buf [1]byte
				_, _ = conn.Read(buf[:]) // until the client closes
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func proxyFunc(b *testing.B, serve func(*net.TCPConn)) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c.(*net.TCPConn))
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}
