package main

import (
	"fmt"
	"io"

	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/rego"
)

func newPolicyExplainCmd() *cobra.Command {
	var f bundleFlags
	var trace string
	cmd := &cobra.Command{
		Use:   "explain --bundle PATH --input FILE|-",
		Short: "decide one request and say which rules matched or failed, and where",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, in, err := f.load(cmd)
			if err != nil {
				return err
			}
			x := e.Explain(cmd.Context(), in)
			printExplanation(cmd.OutOrStdout(), f.decision, x)
			return printTrace(cmd.OutOrStdout(), trace, x.Trace)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&trace, "trace", "fails", "OPA trace to append: none, fails, notes or full")
	return cmd
}

func printExplanation(w io.Writer, decision string, x rego.Explanation) {
	d := x.Decision
	verdict := "ALLOWED"
	if !d.Allowed {
		verdict = fmt.Sprintf("DENIED %d %q", d.HTTPStatus, d.Body)
	}
	fmt.Fprintf(w, "%s: %s (revision %q)\n", decision, verdict, d.Revision)
	if d.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", d.Reason)
	}
	for _, r := range x.Rules {
		if r.Matched {
			fmt.Fprintf(w, "  ✓ %s (%s) matched\n", r.Rule, r.Location)
		} else {
			fmt.Fprintf(w, "  ✗ %s (%s) failed at %s: %s\n", r.Rule, r.Location, r.FailedAt, r.FailedExpr)
		}
	}
}

func printTrace(w io.Writer, mode string, trace []*topdown.Event) error {
	var events []*topdown.Event
	switch mode {
	case "none":
		return nil
	case "fails":
		events = lineage.Fails(trace)
	case "notes":
		events = lineage.Notes(trace)
	case "full":
		events = lineage.Full(trace)
	default:
		return fmt.Errorf("--trace %q: want none, fails, notes or full", mode)
	}
	if len(events) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\ntrace (%s):\n", mode)
	topdown.PrettyTraceWithLocation(w, events)
	return nil
}
