package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/spf13/cobra"
)

func newPolicyTestCmd() *cobra.Command {
	var verbose bool
	var run string
	cmd := &cobra.Command{
		Use:   "test DIR...",
		Short: "run the Rego tests (test_* rules) of bundle directories, like opa test",
		Long: "Each DIR is a bundle (a .manifest at its root), a folder of bundles (each folder\n" +
			"holding a .manifest is tested on its own, so alternative policies with the same\n" +
			"roots do not clash), or a bare folder of .rego files tested together, as opa test\n" +
			"loads them. No tests at all is not a failure, as with opa test.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			var units []testUnit
			for _, dir := range dirs {
				u, err := testUnits(dir)
				if err != nil {
					return fmt.Errorf("test %s: %w", dir, err)
				}
				units = append(units, u...)
			}
			failed := 0
			for _, u := range units {
				ok, err := runTests(cmd.Context(), cmd.OutOrStdout(), u, run, verbose)
				if err != nil {
					return fmt.Errorf("test %s: %w", u.dir, err)
				}
				if !ok {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("policy test: %d of %d bundles failed", failed, len(units))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every test and print failure traces")
	cmd.Flags().StringVarP(&run, "run", "r", "", "only run tests whose name matches this regular expression")
	return cmd
}

// testUnit is one set of files tested in its own store: a bundle, or bare files.
type testUnit struct {
	dir    string
	bundle bool
}

// testUnits splits dir into what is tested together: dir itself when it is a bundle
// or holds no bundle; else every folder below it that holds a .manifest.
func testUnits(dir string) ([]testUnit, error) {
	if _, err := os.Stat(filepath.Join(dir, ".manifest")); err == nil {
		return []testUnit{{dir, true}}, nil
	}
	var units []testUnit
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == ".manifest" {
			units = append(units, testUnit{filepath.Dir(p), true})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(units) == 0 {
		return []testUnit{{dir, false}}, nil
	}
	return units, nil
}

// runTests runs one unit's tests in its own store, so bundles whose roots overlap
// (two alternative authz policies) can be tested in one invocation.
func runTests(ctx context.Context, w io.Writer, u testUnit, run string, verbose bool) (bool, error) {
	r := tester.NewRunner().SetDefaultRegoVersion(ast.RegoV1).Filter(run).EnableTracing(verbose)
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	if u.bundle {
		bundles, err := tester.LoadBundlesWithRegoVersion([]string{u.dir}, nil, ast.RegoV1)
		if err != nil {
			return false, err
		}
		r = r.SetBundles(bundles)
	} else {
		modules, s, err := tester.LoadWithRegoVersion([]string{u.dir}, nil, ast.RegoV1)
		if err != nil {
			return false, err
		}
		store, r = s, r.SetModules(modules)
	}
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return false, err
	}
	defer store.Abort(ctx, txn)
	ch, err := r.SetStore(store).RunTests(ctx, txn)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "%s:\n", u.dir)
	return reportTests(w, ch, verbose)
}

// reportTests prints results as opa test does and says whether all passed.
func reportTests(w io.Writer, ch <-chan *tester.Result, verbose bool) (bool, error) {
	counting := make(chan *tester.Result)
	total, passed := 0, 0
	go func() {
		defer close(counting)
		for r := range ch {
			total++
			if r.Pass() {
				passed++
			}
			counting <- r
		}
	}()
	if err := (tester.PrettyReporter{Output: w, Verbose: verbose, FailureLine: true}).Report(counting); err != nil {
		return false, err
	}
	if total == 0 {
		fmt.Fprintln(w, "no tests found (test_* rules)")
	}
	return passed == total, nil
}
