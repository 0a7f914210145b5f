// Command rampart-injector serves Rampart's mutating admission webhook: it adds the
// rampart-proxy native sidecar to pods created in namespaces labelled
// rampart.io/injection=enabled. `rampart install` renders its Deployment and flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
	"github.com/rampart-mesh/rampart/injector"
)

func main() {
	if version.HandleFlag("rampart-injector", os.Args[1:], os.Stdout) {
		return
	}
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "rampart-injector:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = injector.Run(ctx, opts)
	stop()
	if err != nil {
		opts.Logger.Error("exit", "err", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (injector.ServerOptions, error) {
	var opts injector.ServerOptions
	fs := flag.NewFlagSet("rampart-injector", flag.ContinueOnError)
	fs.StringVar(&opts.Addr, "addr", ":9443", "HTTPS listen address")
	fs.StringVar(&opts.CertFile, "tls-cert", "/etc/rampart-injector/tls/tls.crt", "serving certificate (reloaded on change)")
	fs.StringVar(&opts.KeyFile, "tls-key", "/etc/rampart-injector/tls/tls.key", "serving key (reloaded on change)")
	fs.Int64Var(&opts.MaxRequestBytes, "max-request-bytes", injector.DefaultMaxRequestBytes, "largest AdmissionReview accepted")
	debug := fs.Bool("debug", false, "log every admission decision")
	opts.Config.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return opts, err
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
	return opts, nil
}
