package policies_test

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/rampart-mesh/rampart/policies"
)

// TestRegoTests runs every *_test.rego of every shipped bundle with OPA's tester and
// fails on any failing, erroring or missing test.
func TestRegoTests(t *testing.T) {
	for _, name := range policies.Names() {
		t.Run(name, func(t *testing.T) {
			results := runBundleTests(t, name)
			if len(results) == 0 {
				t.Fatalf("bundle %s has no Rego tests", name)
			}
			for _, r := range results {
				if !r.Pass() {
					t.Errorf("%s.%s: fail=%v err=%v", r.Package, r.Name, r.Fail, r.Error)
				}
			}
		})
	}
}

func runBundleTests(t *testing.T, name string) []*tester.Result {
	t.Helper()
	fsys, err := policies.Bundle(name)
	if err != nil {
		t.Fatal(err)
	}
	l, err := bundle.NewFSLoader(fsys)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewCustomReader(l).WithBundleName(name).Read()
	if err != nil {
		t.Fatalf("read bundle %s: %v", name, err)
	}
	ctx := context.Background()
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn := storage.NewTransactionOrDie(ctx, store, storage.WriteParams)
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().SetStore(store).
		SetBundles(map[string]*bundle.Bundle{name: &b}).RunTests(ctx, txn)
	if err != nil {
		t.Fatalf("run tests of %s: %v", name, err)
	}
	var out []*tester.Result
	for r := range ch {
		out = append(out, r)
	}
	return out
}

func TestBundleUnknown(t *testing.T) {
	if _, err := policies.Bundle("alderaan"); err == nil {
		t.Fatal("Bundle(alderaan) = nil error, want an error for a bundle that does not ship")
	}
}
