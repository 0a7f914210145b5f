package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// checkCommand is the subcommand the injector's rampart-check init container runs.
const checkCommand = "check-capture"

// runCheck is `rampart-proxy check-capture`: it waits until this pod's outbound
// connects are captured into its proxy (see outbound.CheckCapture) and exits 0, or
// exits non-zero after --wait so the kubelet restarts it (with backoff) and the
// pod's app containers still do not start.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rampart-proxy "+checkCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o outbound.CheckOptions
	fs.DurationVar(&o.Wait, "wait", envDuration("RAMPART_CHECK_WAIT", time.Minute),
		"give up (exit 1) when capture is not attached within this long ($RAMPART_CHECK_WAIT)")
	fs.DurationVar(&o.Interval, "interval", 200*time.Millisecond, "time between attempts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", checkCommand, fs.Arg(0))
	}
	if o.Wait <= 0 || o.Interval <= 0 {
		return errors.New(checkCommand + ": --wait and --interval must be positive")
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

// envDuration reads a duration variable, def when unset or malformed (the flag
// then shows def; a malformed flag value is an error of its own).
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}
