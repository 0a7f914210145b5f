// Command cluster starts the single-node test cluster of package
// test/cluster and keeps it until Ctrl-C or SIGTERM (`make cluster`), or removes
// every cluster, also those a killed run left behind (`make cluster-down`):
//
//	cluster up [-images .cache/images] [-rampart=true] [-timeout 5m]
//	cluster down
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
	"time"

	"github.com/rampart-mesh/rampart/test/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: cluster up|down [flags]")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o cluster.Options
	fs.StringVar(&o.BaseDir, "base", cluster.DefaultBaseDir, "folder of the run folders")
	switch args[0] {
	case "up":
		fs.StringVar(&o.Images, "images", ".cache/images", "OCI layout of make images (empty: build into the run folder)")
		fs.BoolVar(&o.InstallRampart, "rampart", true, "install Rampart from the pushed images")
		fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "bound on bringing the cluster up")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return up(ctx, o, stdout, stderr)
	case "down":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return cluster.Down(o.BaseDir)
	}
	return fmt.Errorf("unknown command %q (up, down)", args[0])
}

func up(ctx context.Context, o cluster.Options, stdout, stderr io.Writer) error {
	o.Log = stderr
	start := time.Now()
	c, err := cluster.Start(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster %s up in %.1fs (node %s at %s, registry %s, images :%s)\n",
		c.Name, time.Since(start).Seconds(), c.NodeName, c.NodeIP, c.Registry, c.Tag)
	fmt.Fprintf(stdout, "export KUBECONFIG=%s\n", c.Kubeconfig)
	fmt.Fprintf(stdout, "kubectl: %s\nCtrl-C (or make cluster-down) removes everything.\n", c.KubectlPath())
	<-ctx.Done()
	fmt.Fprintln(stderr, "cluster: stopping")
	return c.Stop()
}
