package rego_test

import (
	"context"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
)

// TestDecisionCacheAgreesWithEvaluation decides the same inputs, in an order that makes
// every later decision a cache hit, with and without the cache: the decisions match.
func TestDecisionCacheAgreesWithEvaluation(t *testing.T) {
	ctx := context.Background()
	inputs := map[string]*rego.Input{"tiefighter lands": tiefighterLands()}
	exhaust := tiefighterLands()
	exhaust.Request = &rego.Request{Method: "PUT", Path: "/v1/exhaust-port"}
	inputs["tiefighter exhaust port"] = exhaust
	xwing := tiefighterLands()
	xwing.Source.Labels = map[string]string{"org": "alliance"}
	inputs["xwing lands"] = xwing
	query := tiefighterLands()
	query.Request.Path = "/v1/request-landing?bay=3"
	inputs["tiefighter lands with a query"] = query
	other := tiefighterLands()
	other.Destination.Labels = map[string]string{"app": "tatooine"}
	inputs["tiefighter to another app"] = other

	// 1<<40 is clamped to MaxDecisionCache; unclamped, its table would not fit in memory.
	for _, size := range []int{rego.DefaultDecisionCache, 1, 1 << 40} {
		cached, plain := newEngine(t, rego.WithDecisionCache(size)), newEngine(t, rego.WithDecisionCache(0))
		for _, e := range []*rego.Engine{cached, plain} {
			if err := e.LoadDir(ctx, "starwars", starwarsDir); err != nil {
				t.Fatal(err)
			}
		}
		for round := range 3 {
			for name, in := range inputs {
				got, want := cached.Decide(ctx, in), plain.Decide(ctx, in)
				if got.Allowed != want.Allowed || got.Reason != want.Reason || got.HTTPStatus != want.HTTPStatus {
					t.Errorf("size %d round %d %s: cached %+v, evaluated %+v", size, round, name, got, want)
				}
			}
		}
	}
}

// TestDecisionCacheSkipsNondeterministicPolicies: a policy calling rand.intn decides
// differently on the same input, so its decisions must not be remembered.
func TestDecisionCacheSkipsNondeterministicPolicies(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	if err := e.LoadDir(ctx, "coinflip", "testdata/bundles/coinflip"); err != nil {
		t.Fatal(err)
	}
	seen := map[bool]int{}
	for range 200 {
		seen[e.Decide(ctx, tiefighterLands()).Allowed]++
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Fatalf("200 coin flips all came out the same (%v): the decision was cached", seen)
	}
}

// TestDecisionCacheFollowsRevisions: a new revision never answers from the old
// revision's remembered decisions.
func TestDecisionCacheFollowsRevisions(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	dir := t.TempDir()
	writeBundle(t, dir, "v1", "package rampart.authz\n\ndefault allow := false\n", "")
	if err := e.LoadDir(ctx, "b", dir); err != nil {
		t.Fatal(err)
	}
	if d := e.Decide(ctx, tiefighterLands()); d.Allowed {
		t.Fatalf("v1 allowed: %+v", d)
	}
	writeBundle(t, dir, "v2", "package rampart.authz\n\ndefault allow := true\n", "")
	if err := e.LoadDir(ctx, "b", dir); err != nil {
		t.Fatal(err)
	}
	if d := e.Decide(ctx, tiefighterLands()); !d.Allowed || d.Revision != "v2" {
		t.Fatalf("v2 decision came from the old revision: %+v", d)
	}
}
