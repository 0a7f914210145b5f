package sidecar_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
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
	if !eventually(func() bool { code, _ := post(t, addr, "POST", "/v1/request-landing"); return code == 200 }) {
		t.Fatal("the new bundle was never loaded")
	}
	write(allowLanding + "\nthis is not rego\n")
	time.Sleep(200 * time.Millisecond) // several reload intervals
	if code, _ := post(t, addr, "POST", "/v1/request-landing"); code != 200 {
		t.Errorf("after a broken update: %d, want 200 from the last good bundle", code)
	}
}

func eventually(f func() bool) bool {
	for range 250 {
		if f() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
