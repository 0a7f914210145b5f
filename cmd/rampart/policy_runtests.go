package main

import (
	"context"
	"errors"
	"fmt"
	"io"

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
		Short: "run the Rego tests (test_* rules) of each bundle directory, like opa test -b",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			failed := 0
			for _, dir := range dirs {
				ok, err := runBundleTests(cmd.Context(), cmd.OutOrStdout(), dir, run, verbose)
				if err != nil {
					return fmt.Errorf("test %s: %w", dir, err)
				}
				if !ok {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("policy test: %d of %d bundles failed", failed, len(dirs))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every test and print failure traces")
	cmd.Flags().StringVarP(&run, "run", "r", "", "only run tests whose name matches this regular expression")
	return cmd
}

// runBundleTests runs one bundle's tests in its own store, so bundles whose roots
// overlap (two alternative authz policies) can be tested in one invocation.
func runBundleTests(ctx context.Context, w io.Writer, dir, run string, verbose bool) (bool, error) {
	bundles, err := tester.LoadBundlesWithRegoVersion([]string{dir}, nil, ast.RegoV1)
	if err != nil {
		return false, err
	}
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return false, err
	}
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().SetDefaultRegoVersion(ast.RegoV1).SetStore(store).SetBundles(bundles).Filter(run).
		EnableTracing(verbose).RunTests(ctx, txn)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "%s:\n", dir)
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
		return false, errors.New("no tests found (test_* rules)")
	}
	return passed == total, nil
}
