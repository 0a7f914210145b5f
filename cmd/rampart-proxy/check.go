package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// checkCommand is the subcommand the injector's rampart-check init container runs.
const checkCommand = "check-capture"

// runCheck is `rampart-proxy check-capture`: it waits until this pod's outbound
// connects are captured into its proxy (see outbound.CheckCapture) and exits 0, or
// exits non-zero after --wait so the kubelet restarts it (with backoff) and the
// pod's app containers still do not start.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := outbound.CheckOptions{Wait: time.Minute, Interval: 200 * time.Millisecond}
	b := &binder{all: pflag.NewFlagSet("rampart-proxy "+checkCommand, pflag.ContinueOnError)}
	b.all.SetOutput(stderr)
	b.section(checkCommand)
	b.flag(durationValue{&o.Wait, 1}, "wait", "give up (exit 1) when capture is not attached within this long", "RAMPART_CHECK_WAIT")
	b.flag(durationValue{&o.Interval, 1}, "interval", "time between attempts")
	if err := b.all.Parse(args); err != nil {
		return err
	}
	if b.all.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", checkCommand, b.all.Arg(0))
	}
	if err := bindEnv(b.all, os.LookupEnv); err != nil {
		return fmt.Errorf("%s: %w", checkCommand, err)
	}
	o.OnRetry = func(n int, err error) {
		if n == 1 { // once: the kubelet keeps the log of every restart
			fmt.Fprintf(stderr, "waiting for capture (is rampart-node running on this node?): %v\n", err)
		}
	}
	start := time.Now()
	if err := outbound.CheckCapture(ctx, o); err != nil {
		return fmt.Errorf("%s: %w", checkCommand, err)
	}
	fmt.Fprintf(stdout, "outbound capture attached (checked in %s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}
