package identity_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestFileSourceReloads serves mTLS from watched files: a rewritten SVID is picked up
// without restarting the listener; a bad rewrite (mismatched key, then an empty
// bundle) is reported and the last good SVID keeps serving.
func TestFileSourceReloads(t *testing.T) {
	ca := newCA(t, testTD)
	dir := t.TempDir()
	writeSVID(t, ca, dir)
	reg := prometheus.NewRegistry()
	m, _ := identity.NewMetrics(reg)
	src, err := identity.NewFileSource(identity.FileOptions{Dir: dir, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	srv := startWhoami(t, identity.ServerConfig(src, testTD, identity.TLSOptions{}))
	client := identity.ClientConfig(rotating(t, ca, clientID, 0), identity.AllowID(serverID), identity.TLSOptions{})
	first := serverSerial(t, srv.addr(), client)

	changed := src.Changed()
	writeSVID(t, ca, dir)
	waitClosed(t, changed, "reload after rewrite")
	second := serverSerial(t, srv.addr(), client)
	if second == first {
		t.Fatalf("server still presents serial %s after the files changed", first)
	}
	if n := counterValue(t, reg, "rampart_identity_svid_rotations_total", "source", "file"); n != 1 {
		t.Errorf("rotations = %v, want 1", n)
	}

	for _, bad := range []string{"mismatched-key", "empty-bundle"} {
		copyCase(t, filepath.Join("testdata/files", bad), dir)
		support.Eventually(t, "reload error for "+bad, func() bool { return src.LastError() != nil })
		t.Logf("%s: %v", bad, src.LastError())
		if got := serverSerial(t, srv.addr(), client); got != second {
			t.Fatalf("after bad files (%s) server presents %s, want last good %s", bad, got, second)
		}
		writeSVID(t, ca, dir) // repair, so the next case starts from good files
		support.Eventually(t, "recovery after "+bad, func() bool { return src.LastError() == nil })
		second = serverSerial(t, srv.addr(), client)
	}
}

func writeSVID(t *testing.T, ca *identity.CA, dir string) {
	t.Helper()
	svid, err := ca.Issue(serverID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := identity.WriteSVIDFiles(dir, svid, ca.Bundle()); err != nil {
		t.Fatal(err)
	}
}

// copyCase overwrites dir's SVID files with a testdata case's (missing ones are left).
func copyCase(t *testing.T, from, dir string) {
	t.Helper()
	for _, f := range []string{identity.BundleFile, identity.SVIDKeyFile, identity.SVIDCertFile} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func serverSerial(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	c, err := dial(addr, cfg)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	if _, err := ask(c); err != nil {
		t.Fatalf("request: %v", err)
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
