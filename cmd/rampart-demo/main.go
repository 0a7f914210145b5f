// Command rampart-demo holds the Star Wars demo's apps in one static binary, for
// the rampart-demo image. It is a multi-call binary, like busybox: the name it is
// run under (the image links deathstar, curl and sleep to it), or else its first
// argument, picks the app.
//
//	deathstar [-listen :80] [-name NAME]   Cilium's deathstar (test/demo/starwars)
//	curl [-sSfiL] [-X M] [-m S] [--connect-timeout S] [-H H] [-d D] [-o F] [-w FMT] URL
//	                                        the curl subset of Cilium's guide
//	sleep                                   wait for SIGTERM (what a tiefighter pod runs)
//
// so `kubectl exec tiefighter -- curl -s -XPOST deathstar.default.svc.cluster.local/v1/request-landing`
// works as in Cilium's guide.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches on argv[0]'s base name, else on argv[1], and returns the exit code.
func run(ctx context.Context, argv []string, stdout, stderr io.Writer) int {
	app, args := filepath.Base(argv[0]), argv[1:]
	if app == "rampart-demo" {
		if len(args) == 0 {
			fmt.Fprintln(stderr, "usage: rampart-demo deathstar|curl|sleep|-version [args]")
			return 2
		}
		app, args = args[0], args[1:]
	}
	switch app {
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, version.String("rampart-demo"))
		return 0
	case "deathstar":
		return exitCode(stderr, "deathstar", serveDeathstar(ctx, args, stdout))
	case "curl":
		return curl(ctx, args, stdout, stderr)
	case "sleep":
		<-ctx.Done()
		return 0
	}
	fmt.Fprintf(stderr, "rampart-demo: unknown app %q (deathstar, curl, sleep)\n", app)
	return 2
}

func exitCode(stderr io.Writer, app string, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", app, err)
	return 1
}
