package sidecar_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestBundleURL: a bundle service is polled; before the first bundle the proxy
// denies and is not ready, a bad download keeps the last good bundle, and a new
// revision is picked up.
func TestBundleURL(t *testing.T) {
	good, deny := tarball(t, allowLanding), tarball(t, denyAll)
	var state atomic.Int32 // 0: 503, 1: allow landing, 2: garbage, 3: deny all
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		s := state.Load()
		if s == 0 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		etag := []string{"", `"a"`, `"b"`, `"c"`}[s]
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write([][]byte{nil, good, []byte("not a tarball"), deny}[s])
	}))
	defer srv.Close()
	addr, admin := runProxy(t, sidecar.PolicyOptions{Bundle: srv.URL + "/bundles/authz.tar.gz", PollInterval: 20 * time.Millisecond})

	if code, _ := post(t, addr, "POST", "/v1/request-landing"); code != 403 {
		t.Errorf("before the first bundle: %d, want 403", code)
	}
	if code := ready(admin); code != 503 {
		t.Errorf("before the first bundle: ready %d, want 503", code)
	}
	state.Store(1)
	if !support.Poll(support.Wait, func() bool { code, _ := post(t, addr, "POST", "/v1/request-landing"); return code == 200 }) {
		t.Fatal("the first bundle was never loaded")
	}
	if code := ready(admin); code != 200 {
		t.Errorf("after the first bundle: ready %d, want 200", code)
	}
	state.Store(2)
	n := polls.Load()
	support.Poll(support.Wait, func() bool { return polls.Load() >= n+3 })
	if code, _ := post(t, addr, "POST", "/v1/request-landing"); code != 200 {
		t.Errorf("after a bad download: %d, want 200 from the last good bundle", code)
	}
	state.Store(3)
	if !support.Poll(support.Wait, func() bool { code, _ := post(t, addr, "POST", "/v1/request-landing"); return code == 403 }) {
		t.Error("the new revision was never loaded")
	}
}

// TestBundleAppears: with AllowMissing a bundle path that does not exist yet (an
// optional ConfigMap) starts a proxy that denies and is not ready until it appears.
func TestBundleAppears(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	addr, admin := runProxy(t, sidecar.PolicyOptions{Bundle: dir, AllowMissing: true, ReloadInterval: 20 * time.Millisecond})
	if code, _ := post(t, addr, "POST", "/v1/request-landing"); code != 403 {
		t.Errorf("without a bundle: %d, want 403", code)
	}
	if code := ready(admin); code != 503 {
		t.Errorf("without a bundle: ready %d, want 503", code)
	}
	os.Mkdir(dir, 0o700)
	os.WriteFile(filepath.Join(dir, ".manifest"), []byte(`{"roots": ["rampart/authz"]}`), 0o600)
	os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(allowLanding), 0o600)
	if !support.Poll(support.Wait, func() bool { code, _ := post(t, addr, "POST", "/v1/request-landing"); return code == 200 }) {
		t.Fatal("the bundle was never loaded")
	}
	if code := ready(admin); code != 200 {
		t.Errorf("with the bundle: ready %d, want 200", code)
	}
}

// runProxy runs a permissive plaintext proxy with an admin listener until the
// test ends.
func runProxy(t *testing.T, p sidecar.PolicyOptions) (addr, admin string) {
	t.Helper()
	app, _ := countingApp(t)
	addr, admin = freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Options{Logger: quiet, Policy: p,
			Inbound: sidecar.InboundOptions{PlaintextAddr: addr, Upstream: app, Mode: inbound.Permissive},
			Admin:   sidecar.AdminOptions{Addr: admin}})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return addr, admin
}

func ready(admin string) int {
	for range 50 { // the admin listener comes up asynchronously
		if resp, err := http.Get("http://" + admin + "/healthz/ready"); err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0
}

func tarball(t *testing.T, policy string) []byte {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".manifest"), []byte(`{"roots": ["rampart/authz"]}`), 0o600)
	os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(policy), 0o600)
	var b bytes.Buffer
	if err := rego.Build(context.Background(), dir, &b, rego.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
