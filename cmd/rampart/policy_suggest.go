package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
	"github.com/rampart-mesh/rampart/rego/suggest"
)

func newPolicySuggestCmd() *cobra.Command {
	var (
		logs    []string
		dir     string
		holdout float64
	)
	cmd := &cobra.Command{
		Use:   "suggest --log FILE... -o DIR",
		Short: "write a default-deny bundle that allows exactly the traffic of decision logs",
		Long: "suggest reads decision logs and writes a bundle (Rego, data.json, generated tests)\n" +
			"allowing each observed flow: source and destination workload, method and path\n" +
			"template (numbers, UUIDs and hashes become one-segment wildcards, each explained in a\n" +
			"comment). --holdout F learns from the first part of the logs and reports how much of\n" +
			"the allowed traffic in the last fraction F the suggestion would deny.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if holdout < 0 || holdout >= 1 {
				return fmt.Errorf("--holdout %v: want a fraction in [0, 1)", holdout)
			}
			return runSuggest(cmd, decisionlog.Files(logs...), dir, holdout)
		},
	}
	cmd.Flags().StringSliceVar(&logs, "log", nil, "decision-log file (repeat or comma-separate; gzip read by content)")
	cmd.Flags().StringVarP(&dir, "output", "o", "", "directory to write the bundle into (created; existing files of the same names replaced)")
	cmd.Flags().Float64Var(&holdout, "holdout", 0, "fraction of the decisions, from the end of the logs, to measure the suggestion on instead of learning from")
	_ = cmd.MarkFlagRequired("log")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runSuggest(cmd *cobra.Command, srcs []decisionlog.Source, dir string, holdout float64) error {
	ctx := cmd.Context()
	cut := -1 // decisions before cut are learnt from
	if holdout > 0 {
		n, err := countDecisions(srcs)
		if err != nil {
			return err
		}
		cut = n - int(float64(n)*holdout)
	}
	flows := suggest.New()
	var (
		held    suggest.HeldOutResult
		e       *rego.Engine
		i, seen int
	)
	_, err := decisionlog.Each(srcs, func(r decisionlog.Record, _ decisionlog.Event) error {
		defer func() { i++ }()
		if cut < 0 || i < cut {
			flows.Add(r)
			return nil
		}
		seen++
		if e == nil {
			var err error
			if e, err = flows.Engine(ctx); err != nil {
				return err
			}
		}
		if r.Allowed {
			held.Allowed++
			if !e.Decide(ctx, r.Input).Allowed {
				held.Denied++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := writeBundle(flows, dir); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote %s: %d flows allowed, everything else denied (%s, %s, %s)\n", dir, flows.Len(),
		suggest.RegoFile, suggest.TestFile, suggest.DataFile)
	if cut >= 0 {
		fmt.Fprintf(w, "held out the last %d of %d decisions: %d of %d allowed requests would be denied (%.1f%%)\n",
			seen, i, held.Denied, held.Allowed, held.Percent())
	}
	return nil
}

func countDecisions(srcs []decisionlog.Source) (int, error) {
	n := 0
	err := decisionlog.ReadAll(srcs, func(ev decisionlog.Event) error {
		_, err := decisionlog.ParseRaw(ev.Data)
		switch {
		case errors.Is(err, decisionlog.ErrNotDecision):
		case err != nil:
			return fmt.Errorf("%s:%d: %w", ev.File, ev.Line, err)
		default:
			n++
		}
		return nil
	})
	return n, err
}

func writeBundle(flows *suggest.Flows, dir string) error {
	files, err := flows.Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}
