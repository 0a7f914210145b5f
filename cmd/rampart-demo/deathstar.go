package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rampart-mesh/rampart/test/demo/starwars"
)

// serveDeathstar serves Cilium's deathstar until ctx ends, logging one JSON line
// per request.
func serveDeathstar(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("deathstar", flag.ContinueOnError)
	listen := fs.String("listen", ":80", "listen address")
	host, _ := os.Hostname()
	name := fs.String("name", host, "replica name in the "+starwars.ServedByHeader+" header")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler: starwars.Deathstar(*name, func(method, path string) {
			log.Info("request", "method", method, "path", path)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	go func() { <-ctx.Done(); srv.Close() }()
	log.Info("listening", "addr", ln.Addr().String(), "name", *name)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
