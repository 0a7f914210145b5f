package sidecar

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar/admin"
	"github.com/rampart-mesh/rampart/sidecar/discovery"
	"github.com/rampart-mesh/rampart/sidecar/discovery/node"
)

// readyChecker is what the admin server asks the policy side: the rego engine
// reports whether a bundle is loaded.
type readyChecker interface{ Ready() bool }

// newAdmin builds the admin listener: ready once an SVID (when an identity is
// configured) and a policy are loaded.
func newAdmin(opts *Options, authz any, src identity.Source, res discovery.Resolver, ring *admin.DecisionRing) ([]serveFunc, error) {
	a := opts.Admin
	if a.Addr == "" {
		return nil, nil
	}
	gatherer, _ := opts.Registerer.(prometheus.Gatherer)
	checks := []admin.Check{{Name: "policy", Check: func() error {
		if rc, ok := authz.(readyChecker); ok && !rc.Ready() {
			return errors.New("no policy bundle loaded")
		}
		return nil
	}}}
	if src != nil {
		checks = append(checks, admin.Check{Name: "svid", Check: func() error {
			_, err := src.GetX509SVID()
			return err
		}})
	}
	if r, ok := res.(*node.Resolver); ok {
		checks = append(checks, nodeDiscoveryCheck(r))
	}
	s, err := admin.New(admin.Options{Listen: a.Addr, Gatherer: gatherer, Ready: checks,
		Config: debugConfig(opts, res), AppProbes: a.AppProbes, Logger: opts.Logger, Decisions: ring})
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	return []serveFunc{{"admin " + a.Addr, a.Addr, func(ctx context.Context, ln net.Listener) error {
		return s.Serve(ctx, ln)
	}, false}}, nil
}

// nodeDiscoveryCheck never fails readiness (the proxy keeps deciding with its
// last view when the agent is away; failing would only take the app out of
// its Service), but says how old the view is and why the stream is down.
func nodeDiscoveryCheck(r *node.Resolver) admin.Check {
	return admin.Check{Name: "discovery", Check: func() error { return nil }, Detail: func() string {
		connected, version, err := r.Status()
		d := fmt.Sprintf("node view version %d, age %s", version, r.Age().Round(time.Millisecond))
		if !connected && err != nil {
			d += fmt.Sprintf(" (agent unreachable: %v)", err)
		}
		return d
	}}
}

// debugConfig is the part of Options shown at /debug/config: addresses, routes
// and sources, never key material; "discovery" is what the resolver knows when
// the page is served.
func debugConfig(o *Options, res discovery.Resolver) map[string]any {
	return map[string]any{
		"trustDomain": o.Identity.TrustDomain, "namespace": o.Identity.Namespace,
		"serviceAccount": o.Identity.ServiceAccount, "svidDir": o.Identity.SVIDDir, "bundle": o.Policy.Bundle,
		"podIPs": o.Inbound.PodIPs, "capture": o.Capture,
		"decision": o.Policy.Decision, "dryRun": o.Policy.DryRun, "requestBody": o.Policy.RequestBodyBytes,
		"inbound": map[string]any{"plaintext": o.Inbound.PlaintextAddr, "hbone": o.Inbound.HBONEAddr,
			"mode": o.Inbound.Mode, "upstream": o.Inbound.Upstream, "slashes": o.Inbound.Tuning.HTTP.Slashes,
			"limits": o.Inbound.Tuning.Limits},
		"outbound": map[string]any{"capture": o.Outbound.CaptureAddr, "routes": o.Outbound.Routes,
			"registry": o.Outbound.RegistryFile},
		"admin": o.Admin.Addr, "discovery": discoveryView{o, res},
	}
}
