package hbone_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// tlsConfigs returns a server and a client config for one self-signed loopback
// certificate, both negotiating "h2".
func tlsConfigs(t testing.TB) (*tls.Config, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hbone-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	srv := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS13}
	cli := &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS13}
	return srv, cli
}

// serve runs hbone.Serve for every connection to a loopback TLS listener.
func serve(t testing.TB, cfg hbone.Config, handle func(*hbone.Stream)) (addr string, client *tls.Config, cancel context.CancelFunc) {
	t.Helper()
	srvTLS, cliTLS := tlsConfigs(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { hbone.Serve(ctx, c, cfg, handle) })
		}
	})
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	t.Cleanup(func() {
		cancel()
		stop()
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String(), cliTLS, cancel
}

// dial opens a client connection to addr.
func dial(t testing.TB, addr string, cli *tls.Config, cfg hbone.Config) *hbone.Conn {
	t.Helper()
	tc, err := tls.Dial("tcp", addr, cli)
	if err != nil {
		t.Fatal(err)
	}
	c, err := hbone.Client(tc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func connect(t testing.TB, c *hbone.Conn, authority string) (*hbone.Stream, error) {
	t.Helper()
	if !c.Reserve() {
		t.Fatal("Reserve: no stream available")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Connect(ctx, authority)
}

// echo accepts a tunnel and sends back what it reads, then half-closes.
func echo(s *hbone.Stream) {
	if s.Request().Method != "CONNECT" {
		s.Respond(405, nil, []byte("CONNECT only"))
		return
	}
	if s.Accept() != nil {
		return
	}
	io.Copy(s, s)
	s.CloseWrite()
}

var _ net.Conn = (*hbone.Stream)(nil)
