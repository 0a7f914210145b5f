// Command rampart-proxy is the Rampart sidecar. Every flag falls back to an
// environment variable (shown in -help), so the injector can configure it either way.
//
// In a pod — $POD_NAME set (the injector sets it), unless $RAMPART_IN_POD says
// otherwise — the listeners default to the contract ports: outbound capture
// 127.0.0.1:15001, plaintext 0.0.0.0:15006, HBONE :15008, admin :15020; the pod's
// addresses come from $POD_IP and the identity from $SPIFFE_ENDPOINT_SOCKET.
// Explicit flags and RAMPART_LISTEN_* variables still win. $RAMPART_BUNDLE may be
// a path or an http(s) bundle-service URL; the proxy is ready only once a bundle
// is loaded.
//
// Inbound-only use without Kubernetes (authorizes plaintext HTTP as an
// unauthenticated peer and forwards allowed requests):
//
//	rampart-proxy --bundle policies/starwars --listen-plaintext :8080 --upstream 127.0.0.1:80
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rampart-mesh/rampart/sidecar"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rampart-proxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	opts, closeLog, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	reg := prometheus.NewRegistry() // served at the admin port, never the global one
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts.Registerer = reg
	return sidecar.Run(ctx, opts)
}
