package suggest

import (
	"context"
	"fmt"
	"testing/fstest"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

// HeldOutResult measures a suggestion on traffic it did not learn from.
type HeldOutResult struct {
	Allowed int `json:"allowed"` // held-out decisions the proxy allowed
	Denied  int `json:"denied"`  // of those, how many the suggestion denies
}

// Percent is the share of allowed held-out traffic the suggestion would deny.
func (r HeldOutResult) Percent() float64 {
	if r.Allowed == 0 {
		return 0
	}
	return 100 * float64(r.Denied) / float64(r.Allowed)
}

// HeldOut suggests a bundle from learn and decides test with it: how much
// legitimate traffic the suggestion would have denied had it been enforced after
// learn was recorded.
func HeldOut(ctx context.Context, learn, test []decisionlog.Record) (HeldOutResult, error) {
	fs := New()
	for _, r := range learn {
		fs.Add(r)
	}
	e, err := fs.Engine(ctx)
	if err != nil {
		return HeldOutResult{}, err
	}
	var res HeldOutResult
	for _, r := range test {
		if !r.Allowed {
			continue
		}
		res.Allowed++
		if d := e.Decide(ctx, r.Input); !d.Allowed {
			res.Denied++
		}
	}
	return res, nil
}

// Engine loads the suggested bundle into a fresh engine.
func (fs *Flows) Engine(ctx context.Context, opts ...rego.Option) (*rego.Engine, error) {
	files, err := fs.Files()
	if err != nil {
		return nil, err
	}
	m := fstest.MapFS{}
	for name, b := range files {
		m[name] = &fstest.MapFile{Data: b}
	}
	e, err := rego.New(opts...)
	if err != nil {
		return nil, err
	}
	if err := e.LoadFS(ctx, "main", m); err != nil {
		return nil, fmt.Errorf("suggest: the suggested bundle does not load: %w", err)
	}
	return e, nil
}
