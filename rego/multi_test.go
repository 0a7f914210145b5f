package rego_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
)

// TestMultipleBundles runs a policy bundle on top of the shipped lib bundle: two
// named bundles with disjoint roots, one decision.
func TestMultipleBundles(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	// A library alone owns no decision: loaded, reported, and the engine not ready.
	if err := e.LoadDir(ctx, "lib", "../policies/lib"); !errors.Is(err, rego.ErrDecisionOutsideRoots) || e.Ready() {
		t.Fatalf("loading lib alone: %v (ready %v), want ErrDecisionOutsideRoots and not ready", err, e.Ready())
	}
	if err := e.LoadDir(ctx, "main", "testdata/bundles/uselib"); err != nil {
		t.Fatal(err)
	}
	if got := e.Revisions(); !maps.Equal(got, map[string]string{"lib": "lib-v1", "main": "uselib-1"}) {
		t.Errorf("Revisions() = %v", got)
	}
	if e.Revision() != "uselib-1" {
		t.Errorf("Revision() = %q, want the decision owner's uselib-1", e.Revision())
	}
	for _, c := range []struct {
		method, path string
		allowed      bool
	}{
		{"GET", "/anything", true},
		{"POST", "/orders/7/items", true},
		{"POST", "/admin", false},
		{"DELETE", "/orders/7", false},
	} {
		d := e.Decide(ctx, &rego.Input{Request: &rego.Request{Method: c.method, Path: c.path}})
		if d.Allowed != c.allowed {
			t.Errorf("%s %s: allowed=%v, want %v (%s)", c.method, c.path, d.Allowed, c.allowed, d.Reason)
		}
	}
	// Removing lib would leave main calling undefined functions: refused, both kept.
	if err := e.Remove(ctx, "lib"); err == nil {
		t.Fatal("removing a bundle another one depends on succeeded")
	}
	if d := e.Decide(ctx, &rego.Input{Request: &rego.Request{Method: "GET", Path: "/"}}); !d.Allowed {
		t.Errorf("after refused removal: %+v", d)
	}
	if err := e.Remove(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	if d := e.Decide(ctx, &rego.Input{Request: &rego.Request{Method: "GET", Path: "/"}}); d.Allowed || !strings.HasPrefix(d.Reason, rego.ErrDecisionOutsideRoots.Error()) || e.Ready() {
		t.Errorf("after removing the policy: %+v ready=%v, want a deny saying no bundle owns the path", d, e.Ready())
	}
}
