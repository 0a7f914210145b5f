package injector_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/injector"
)

// TestServerReloadsCertificate replaces the serving certificate on disk the way a
// Secret volume does (write aside, rename over) and expects new handshakes to present
// the new certificate without a restart.
func TestServerReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writeCert(t, cert, key)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- injector.Serve(ctx, ln, injector.ServerOptions{CertFile: cert, KeyFile: key}) }()
	t.Cleanup(func() { cancel(); <-done })

	if got := servedSerial(t, ln.Addr().String()); got != first {
		t.Fatalf("served serial %s, want %s", got, first)
	}
	second := writeCert(t, cert, key)
	deadline := time.Now().Add(30 * time.Second)
	for servedSerial(t, ln.Addr().String()) != second {
		if time.Now().After(deadline) {
			t.Fatal("server still presents the old certificate 30s after it changed on disk")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeCert writes a fresh certificate and key via rename and returns its serial.
func writeCert(t *testing.T, cert, key string) string {
	t.Helper()
	b, err := injector.GenerateTLS([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string][]byte{key: b.Key, cert: b.Cert} {
		if err := os.WriteFile(path+".new", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	pair, err := tls.X509KeyPair(b.Cert, b.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.String()
}

func servedSerial(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // only reading the serial
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}
