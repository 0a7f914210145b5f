// Command rampart-injector serves Rampart's mutating admission webhook: it adds the
// rampart-proxy native sidecar to pods created in namespaces labelled
// rampart.io/injection=enabled. `rampart install` renders its Deployment and flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
	"github.com/rampart-mesh/rampart/injector"
)

func main() {
	if version.HandleFlag("rampart-injector", os.Args[1:], os.Stdout) {
		return
	}
	opts, ca, err := parseFlags(os.Args[1:])
	if errors.Is(err, pflag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rampart-injector:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, opts, ca)
	stop()
	if err != nil {
		opts.Logger.Error("exit", "err", err)
		os.Exit(1)
	}
}

// run serves the webhook and, when enabled, the cluster CA; the first to fail
// stops both.
func run(ctx context.Context, opts injector.ServerOptions, ca caOptions) error {
	if !ca.Enabled {
		return injector.Run(ctx, opts)
	}
	serveCA, err := startCA(ctx, ca, &opts)
	if err != nil {
		return fmt.Errorf("cluster CA: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- serveCA(ctx) }()
	go func() { errs <- injector.Run(ctx, opts) }()
	first := <-errs
	cancel()
	return errors.Join(first, <-errs)
}

func parseFlags(args []string) (injector.ServerOptions, caOptions, error) {
	var opts injector.ServerOptions
	var ca caOptions
	fs := pflag.NewFlagSet("rampart-injector", pflag.ContinueOnError)
	fs.StringVar(&opts.Addr, "addr", ":9443", "HTTPS listen address")
	fs.StringVar(&opts.CertFile, "tls-cert", "/etc/rampart-injector/tls/tls.crt", "serving certificate (reloaded on change)")
	fs.StringVar(&opts.KeyFile, "tls-key", "/etc/rampart-injector/tls/tls.key", "serving key (reloaded on change)")
	fs.Int64Var(&opts.MaxRequestBytes, "max-request-bytes", injector.DefaultMaxRequestBytes, "largest AdmissionReview accepted")
	debug := fs.Bool("debug", false, "log every admission decision")
	shared := flag.NewFlagSet("", flag.ContinueOnError) // injector binds its shared flags with the standard library
	opts.Config.BindFlags(shared)
	ca.BindFlags(shared)
	fs.AddGoFlagSet(shared)
	fs.StringVar(&ca.kubeconfig, "kubeconfig", "", "kubeconfig for the CA's TokenReviews and Secret (default: in-cluster)")
	fs.StringVar(&ca.metricsAddr, "metrics-addr", ":15014", "plain-HTTP /metrics of the CA (empty: off)")
	if err := fs.Parse(args); err != nil {
		return opts, ca, err
	}
	if opts.Config.Image == "" { // the proxy of this binary's version, not the library's fallback
		opts.Config.Image = injector.ImageRef(injector.DefaultRegistry, injector.ProxyImageName, version.Tag())
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// controller-runtime's certwatcher logs through its own global logger.
	ctrllog.SetLogger(logr.FromSlogHandler(opts.Logger.Handler()))
	return opts, ca, nil
}
