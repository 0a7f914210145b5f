package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/rego"
)

func newPolicyBenchCmd() *cobra.Command {
	var f bundleFlags
	var n int
	cmd := &cobra.Command{
		Use:   "bench --bundle PATH --input FILE|-",
		Short: "decide one request many times and print p50/p99 latency and allocations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, in, err := f.load(cmd)
			if err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("--n %d: want at least 1", n)
			}
			report(cmd.OutOrStdout(), measure(cmd, e, in, n))
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&n, "n", 20000, "number of decisions to time")
	return cmd
}

type benchResult struct {
	n             int
	allowed       bool
	took          []time.Duration // sorted
	allocs, bytes float64         // per decision
}

// measure times each decision separately (for percentiles) after a warm-up, and
// reads allocations from the runtime's counters around the timed loop.
func measure(cmd *cobra.Command, e *rego.Engine, in *rego.Input, n int) benchResult {
	ctx := cmd.Context()
	for range min(n, 1000) {
		e.Decide(ctx, in)
	}
	r := benchResult{n: n, took: make([]time.Duration, n)}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		start := time.Now()
		d := e.Decide(ctx, in)
		r.took[i] = time.Since(start)
		r.allowed = d.Allowed
	}
	runtime.ReadMemStats(&after)
	r.allocs = float64(after.Mallocs-before.Mallocs) / float64(n)
	r.bytes = float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
	slices.Sort(r.took)
	return r
}

func (r benchResult) pct(p float64) time.Duration { return r.took[int(p*float64(r.n-1))] }

func report(w io.Writer, r benchResult) {
	fmt.Fprintf(w, "decisions:        %d (allowed: %v)\n", r.n, r.allowed)
	fmt.Fprintf(w, "p50:              %v\n", r.pct(0.50))
	fmt.Fprintf(w, "p90:              %v\n", r.pct(0.90))
	fmt.Fprintf(w, "p99:              %v\n", r.pct(0.99))
	fmt.Fprintf(w, "allocs/decision:  %.0f\n", r.allocs)
	fmt.Fprintf(w, "bytes/decision:   %.0f\n", r.bytes)
}
