package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
	"github.com/rampart-mesh/rampart/rego/replay"
)

// replayGCPercent is the GC target of a replay (unless $GOGC sets one): it
// allocates mostly short-lived inputs, and at 400 instead of 100 it decided 1.17×
// more decisions per CPU-second (BenchmarkReplayMillion, GOGC=100 vs 400, median
// of 3 interleaved pairs on a loaded machine).
const replayGCPercent = 400

// errDenials is the failure of a replay whose candidate denies traffic that was
// allowed: the exit code a CI pipeline gates a policy change on.
var errDenials = errors.New("the candidate denies requests that were allowed (pass --allow-denials to accept)")

func newPolicyReplayCmd() *cobra.Command {
	var (
		f            bundleFlags
		logs         []string
		out          outputFormat
		allowDenials bool
	)
	cmd := &cobra.Command{
		Use:   "replay --bundle CANDIDATE --log FILE...",
		Short: "re-decide recorded decisions with a candidate bundle and show what would change",
		Long: "replay reads decision logs (Rampart's, or OPA-Envoy's: console lines or uploaded\n" +
			"arrays, plain or gzip), decides every recorded input again with the candidate bundle,\n" +
			"and prints the flows whose decision changes, grouped by source, destination, method\n" +
			"and path template. It fails when the candidate denies a request that was allowed,\n" +
			"unless --allow-denials.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			e, err := f.engine(cmd.Context(), rego.WithDecisionCache(1<<16))
			if err != nil {
				return err
			}
			if os.Getenv("GOGC") == "" {
				defer debug.SetGCPercent(debug.SetGCPercent(replayGCPercent))
			}
			r, err := replay.Run(cmd.Context(), e, decisionlog.Files(logs...), replay.Options{})
			if err != nil {
				return err
			}
			if ok, err := out.encode(cmd.OutOrStdout(), r); ok && err != nil {
				return err
			} else if !ok {
				printReplay(cmd.OutOrStdout(), r)
			}
			if r.Totals.AllowToDeny > 0 && !allowDenials {
				return fmt.Errorf("%d decisions: %w", r.Totals.AllowToDeny, errDenials)
			}
			return nil
		},
	}
	registerCandidate(cmd, &f)
	cmd.Flags().StringSliceVar(&logs, "log", nil, "decision-log file (repeat or comma-separate; gzip read by content)")
	cmd.Flags().VarP(newEnum(&out), "output", "o", "table, json or yaml")
	cmd.Flags().BoolVar(&allowDenials, "allow-denials", false, "exit 0 even when the candidate denies traffic that was allowed")
	_ = cmd.MarkFlagRequired("log")
	return cmd
}

// registerCandidate adds the flags that choose the bundle to decide with.
func registerCandidate(cmd *cobra.Command, f *bundleFlags) {
	cmd.Flags().StringVar(&f.bundle, "bundle", "", "candidate bundle: directory, .tar.gz, or a shipped bundle's name")
	cmd.Flags().StringVar(&f.decision, "decision", rego.DefaultDecision, "decision rule to evaluate (data.envoy.authz.allow or envoy/authz/allow for OPA-Envoy logs)")
	cmd.Flags().StringVar(&f.key, "verification-key", "", "PEM public key (or HMAC secret) the bundle must be signed with")
	cmd.Flags().StringVar(&f.keyID, "key-id", "default", "key id of --verification-key")
	cmd.Flags().StringVar(&f.keyAlg, "verification-alg", "RS256", "algorithm of --verification-key")
	_ = cmd.MarkFlagRequired("bundle")
}

func printReplay(w io.Writer, r *replay.Report) {
	if len(r.Changes) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE\tDESTINATION\tMETHOD\tPATH\tALLOW→DENY\tDENY→ALLOW\tEXAMPLE")
		for _, c := range r.Changes {
			ex := c.AllowToDenyExample
			if ex == nil {
				ex = c.DenyToAllowExample
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s %s\n", c.Source, c.Destination, c.Method, c.Path,
				c.AllowToDeny, c.DenyToAllow, ex.Where, ex.Path)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	t := r.Totals
	fmt.Fprintf(w, "replayed %d decisions with revision %q: %d unchanged, %d allow→deny, %d deny→allow",
		t.Decisions, r.Candidate, t.Unchanged, t.AllowToDeny, t.DenyToAllow)
	if t.Skipped > 0 {
		fmt.Fprintf(w, ", %d log lines skipped (not decisions)", t.Skipped)
	}
	fmt.Fprintln(w)
}
