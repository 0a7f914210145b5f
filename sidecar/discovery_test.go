package sidecar_test

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/sidecar"
)

// TestDiscoveryMisconfigured: a proxy whose discovery cannot work refuses to
// start and says why, instead of serving with an empty view.
func TestDiscoveryMisconfigured(t *testing.T) {
	unreachable := &rest.Config{Host: "https://" + freeAddr(t)}
	for _, tc := range []struct {
		name string
		d    sidecar.DiscoveryOptions
		reg  string
		want string
	}{
		{"kube and file", sidecar.DiscoveryOptions{Kube: unreachable}, "testdata/registry.json", "exclude each other"},
		{"http api server", sidecar.DiscoveryOptions{Kube: &rest.Config{Host: "http://127.0.0.1:1"}}, "", "want an https URL"},
		{"unreachable api server", sidecar.DiscoveryOptions{Kube: unreachable, SyncTimeout: 1500 * time.Millisecond}, "", "pods not synced"},
		{"node and file", sidecar.DiscoveryOptions{NodeSocket: "/nonexistent.sock"}, "testdata/registry.json", "node discovery excludes"},
		{"node and kube", sidecar.DiscoveryOptions{NodeSocket: "/nonexistent.sock", Kube: unreachable}, "", "node discovery excludes"},
		{"no agent", sidecar.DiscoveryOptions{NodeSocket: "/nonexistent.sock", SyncTimeout: 500 * time.Millisecond}, "", "no snapshot from the agent yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := sidecar.Options{Logger: quiet, Discovery: tc.d}
			opts.Policy.Bundle = "testdata/landing"
			opts.Inbound.PlaintextAddr = freeAddr(t)
			opts.Outbound.RegistryFile = tc.reg
			err := sidecar.Run(t.Context(), opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
