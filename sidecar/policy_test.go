package sidecar_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/test/support"
)

const denyAll = "package rampart.authz\n\ndefault allow := false\n"

const allowLanding = denyAll + `
allow if {
	input.attributes.request.http.method == "POST"
	input.parsed_path == ["v1", "request-landing"]
}
`

// TestBundleReload: a changed bundle is picked up while running; a broken update is
// refused and the last good bundle keeps deciding.
func TestBundleReload(t *testing.T) {
	dir := t.TempDir()
	write := func(rego string) {
		t.Helper()
		os.WriteFile(filepath.Join(dir, ".manifest"), []byte(`{"roots": ["rampart/authz"]}`), 0o600)
		if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(rego), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(denyAll)
	app, _ := countingApp(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Options{
			Logger:  quiet,
			Policy:  sidecar.PolicyOptions{Bundle: dir, ReloadInterval: 20 * time.Millisecond},
			Inbound: sidecar.InboundOptions{PlaintextAddr: addr, Upstream: app, Mode: inbound.Permissive},
		})
	}()
	defer func() { cancel(); <-done }()
	if code, _ := post(t, addr, "POST", "/v1/request-landing"); code != 403 {
		t.Fatalf("before reload: %d, want 403", code)
	}
	write(allowLanding)
	if !support.Poll(support.Wait, func() bool { code, _ := post(t, addr, "POST", "/v1/request-landing"); return code == 200 }) {
		t.Fatal("the new bundle was never loaded")
	}
	write(allowLanding + "\nthis is not rego\n")
	time.Sleep(200 * time.Millisecond) // several reload intervals
	if code, _ := post(t, addr, "POST", "/v1/request-landing"); code != 200 {
		t.Errorf("after a broken update: %d, want 200 from the last good bundle", code)
	}
}

// TestBundleReloadConfigMapVolume: a bundle file in a ConfigMap volume is a
// symlink (bundle.tar.gz -> ..data/bundle.tar.gz) that never changes; the kubelet
// updates it by writing a new timestamped folder and swapping the ..data symlink
// (its AtomicWriter). The proxy must see through the symlinks and reload.
func TestBundleReloadConfigMapVolume(t *testing.T) {
	vol := t.TempDir()
	publish := func(gen, policy string) {
		t.Helper()
		src := filepath.Join(t.TempDir(), "b")
		os.MkdirAll(src, 0o755)
		os.WriteFile(filepath.Join(src, ".manifest"), []byte(`{"roots": ["rampart/authz"]}`), 0o600)
		os.WriteFile(filepath.Join(src, "authz.rego"), []byte(policy), 0o600)
		ts := filepath.Join(vol, "..2026_12_07_"+gen)
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(ts, "bundle.tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		if err := rego.Build(context.Background(), src, f, rego.BuildOptions{}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		tmp := filepath.Join(vol, "..data_tmp")
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(vol, "..data")); err != nil {
			t.Fatal(err)
		}
		os.Symlink("..data/bundle.tar.gz", filepath.Join(vol, "bundle.tar.gz")) // exists after the first
	}
	publish("1", denyAll)
	app, _ := countingApp(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Options{
			Logger:  quiet,
			Policy:  sidecar.PolicyOptions{Bundle: filepath.Join(vol, "bundle.tar.gz"), ReloadInterval: 20 * time.Millisecond},
			Inbound: sidecar.InboundOptions{PlaintextAddr: addr, Upstream: app, Mode: inbound.Permissive},
		})
	}()
	defer func() { cancel(); <-done }()
	if code, _ := post(t, addr, "POST", "/v1/request-landing"); code != 403 {
		t.Fatalf("before the update: %d, want 403", code)
	}
	publish("2", allowLanding)
	if !support.Poll(support.Wait, func() bool { code, _ := post(t, addr, "POST", "/v1/request-landing"); return code == 200 }) {
		t.Fatal("the ConfigMap update was never loaded")
	}
}
