package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// RunOptions configure Run.
type RunOptions struct {
	Out         io.Writer            // the report; required
	ProxyBinary string               // rampart-proxy; required
	Helper      netpod.HelperCommand // how to re-execute this program; required
	Mode        Mode                 // deathstar proxies' plaintext mode; default Strict
	Logger      *slog.Logger         // progress; default discarded
}

// Run is `rampart demo`: it builds the Star Wars scenario, runs the tour, prints
// the table, some decision-log lines and the proxies' counters, and tears
// everything down (also when ctx is cancelled, e.g. by Ctrl-C).
func Run(ctx context.Context, o RunOptions) (err error) {
	t0 := time.Now()
	env, err := NewEnv(EnvOptions{Tag: "rpdemo", Helper: o.Helper, ProxyBinary: o.ProxyBinary,
		Logger: o.Logger, Context: ctx})
	if err != nil {
		return err
	}
	defer func() {
		t := time.Now()
		if ctx.Err() != nil {
			err = errors.New("demo: interrupted")
		}
		if cerr := env.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		fmt.Fprintf(o.Out, "\nTorn down in %v: namespaces, links, cgroups, pins and processes removed.\n", since(t))
	}()
	sw, err := StartStarWars(env, StarWarsOptions{Mode: o.Mode})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "Star Wars on real namespaces, set up in %v: %d pods on a bridge, %d meshed "+
		"(rampart-proxy as uid 1337, eBPF capture, SPIFFE mTLS), deathstar VIP %s in front of %d replicas.\n\n",
		since(t0), 5, 4, DeathstarVIP, len(sw.Deathstar))
	if err := ctx.Err(); err != nil {
		return err
	}
	steps, err := sw.Tour(ctx)
	if err != nil {
		return err
	}
	PrintSteps(o.Out, steps)
	PrintDecisions(o.Out, steps)
	if sw.Bundles != nil {
		if err := sw.SwapTour(ctx, o.Out); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(o.Out, "\n(Live bundle swap skipped: this rampart-proxy cannot reload its bundle.)")
	}
	if err := sw.PrintCounters(ctx, o.Out); err != nil {
		return err
	}
	return runEgress(ctx, o)
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }
