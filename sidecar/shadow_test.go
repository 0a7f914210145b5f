package sidecar_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestShadowBundle: a proxy carrying a deny-all candidate beside an active bundle
// that allows landings still lands ships (only the active decision is enforced)
// and counts each disagreement.
func TestShadowBundle(t *testing.T) {
	bundle := func(rego string) string {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, ".manifest"), []byte(`{"roots": ["rampart/authz"]}`), 0o600)
		if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(rego), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	active, candidate := bundle(allowLanding), bundle(denyAll)
	app, _ := countingApp(t)
	addr := freeAddr(t)
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Options{
			Logger: quiet, Registerer: reg,
			Policy:  sidecar.PolicyOptions{Bundle: active, ShadowBundle: candidate, ReloadInterval: -1},
			Inbound: sidecar.InboundOptions{PlaintextAddr: addr, Upstream: app, Mode: inbound.Permissive},
		})
	}()
	defer func() { cancel(); <-done }()
	var code int
	if !support.Poll(support.Wait, func() bool { code, _ = post(t, addr, "POST", "/v1/request-landing"); return code == 200 }) {
		t.Fatalf("landing: %d, want 200 from the active bundle", code)
	}
	if code, _ := post(t, addr, "PUT", "/v1/exhaust-port"); code != 403 {
		t.Fatalf("exhaust port: %d, want 403", code)
	}
	if got := disagreements(t, reg); got["allow_to_deny"] < 1 || got["deny_to_allow"] != 0 {
		t.Fatalf("disagreements %v, want allow_to_deny ≥ 1 and no deny_to_allow", got)
	}
	if err := sidecarStartErr(t, bundle(allowLanding), "/nonexistent"); err == nil {
		t.Fatal("a shadow bundle that does not load was accepted at start")
	}
}

func disagreements(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "rampart_policy_shadow_disagreements_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

func sidecarStartErr(t *testing.T, active, shadow string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return sidecar.Run(ctx, sidecar.Options{Logger: quiet,
		Policy:  sidecar.PolicyOptions{Bundle: active, ShadowBundle: shadow, ReloadInterval: -1},
		Inbound: sidecar.InboundOptions{PlaintextAddr: freeAddr(t), Upstream: "127.0.0.1:1", Mode: inbound.Permissive}})
}
