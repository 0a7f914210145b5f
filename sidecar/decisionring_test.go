package sidecar_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestDecisionsOnAdmin: with the admin listener on, the latest decisions are
// served at /debug/decisions with the shadow verdict, and the ring's size is a metric.
func TestDecisionsOnAdmin(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".manifest"), []byte(`{"roots": ["rampart/authz"]}`), 0o600)
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(allowLanding), 0o600); err != nil {
		t.Fatal(err)
	}
	app, _ := countingApp(t)
	addr, adminAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Options{
			Logger: quiet, Registerer: prometheus.NewRegistry(),
			Admin:   sidecar.AdminOptions{Addr: adminAddr},
			Policy:  sidecar.PolicyOptions{Bundle: dir, ReloadInterval: -1, DecisionRingBytes: 1 << 20},
			Inbound: sidecar.InboundOptions{PlaintextAddr: addr, Upstream: app, Mode: inbound.Permissive},
		})
	}()
	defer func() { cancel(); <-done }()
	var code int
	if !support.Poll(support.Wait, func() bool { code, _ = post(t, addr, "POST", "/v1/request-landing"); return code == 200 }) {
		t.Fatalf("landing: %d", code)
	}
	post(t, addr, "PUT", "/v1/exhaust-port")
	get := func(path string) string {
		resp, err := http.Get("http://" + adminAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	body := get("/debug/decisions")
	if !strings.Contains(body, `"path":"/v1/exhaust-port"`) || !strings.Contains(body, `"allowed":false`) {
		t.Fatalf("/debug/decisions:\n%s", body)
	}
	if m := get("/metrics"); !strings.Contains(m, "rampart_decision_ring_bytes ") || strings.Contains(m, "rampart_decision_ring_bytes 0\n") {
		t.Fatalf("no ring size in /metrics")
	}
}
