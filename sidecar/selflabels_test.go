package sidecar_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/discovery"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// TestOwnLabelsFromDiscovery: with no --labels (an injected pod), the proxy takes
// destination.labels from discovery by its own pod IP, so a policy on the
// destination's labels decides as it does in the demo, where labels are given.
func TestOwnLabelsFromDiscovery(t *testing.T) {
	const self = "198.18.77.7" // only looked up, never dialled
	reg := discovery.Registry{TrustDomain: "cluster.local", Workloads: []discovery.RegistryWorkload{{
		Pod: "deathstar-1", Namespace: "default", ServiceAccount: "deathstar", IP: self,
		Labels: map[string]string{"app": "deathstar"}, Meshed: true}}}
	file := filepath.Join(t.TempDir(), "registry.json")
	b, _ := json.Marshal(reg)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		podIPs []netip.Addr
		want   int
	}{
		{"own pod found by its IP", []netip.Addr{netip.MustParseAddr(self)}, 200},
		{"no pod IP: no labels, denied", nil, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, _ := countingApp(t)
			addr := freeAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				opts := sidecar.Options{Logger: quiet,
					Policy:  sidecar.PolicyOptions{Bundle: "testdata/ownlabels"},
					Inbound: sidecar.InboundOptions{PlaintextAddr: addr, Upstream: app, Mode: inbound.Permissive, PodIPs: tc.podIPs}}
				opts.Outbound.RegistryFile = file
				done <- sidecar.Run(ctx, opts)
			}()
			defer func() { cancel(); <-done }()
			if code, body := post(t, addr, "POST", "/v1/request-landing"); code != tc.want {
				t.Errorf("status %d %q, want %d", code, body, tc.want)
			}
		})
	}
}
