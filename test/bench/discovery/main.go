package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// config is the run's shape, from flags.
type config struct {
	pods, services, namespaces, proxies int
	changes, reps                       int
	wave                                int
	arms                                []string
	settle                              time.Duration
	agentNamespaces                     string
	keep                                bool
	logLevel                            string
	// Projection targets.
	bigNodes, bigPods, bigNamespacePods int
	churn                               float64
}

// fullScale is issue 16's comparison.
func fullScale() config {
	return config{pods: 2000, services: 500, namespaces: 20, proxies: 200, changes: 10, reps: 2, wave: 5,
		arms: []string{"kube", "node"}, settle: 15 * time.Second, agentNamespaces: "*", logLevel: "warn",
		bigNodes: 5000, bigPods: 150_000, bigNamespacePods: 1000, churn: 10}
}

func main() {
	c, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err = run(ctx, c, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "discovery:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, out io.Writer) (config, error) {
	c := fullScale()
	fs := flag.NewFlagSet("discovery", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&c.pods, "pods", c.pods, "pods created, spread over the namespaces and over pods/proxies nodes")
	fs.IntVar(&c.services, "services", c.services, "Services created, each with one EndpointSlice")
	fs.IntVar(&c.namespaces, "namespaces", c.namespaces, "namespaces the pods and services are spread over")
	fs.IntVar(&c.proxies, "proxies", c.proxies, "proxies run, one per pod of the measured node (pods/proxies nodes in all)")
	fs.IntVar(&c.changes, "changes", c.changes, "label changes per arm run")
	fs.IntVar(&c.wave, "wave", c.wave, "proxies started at once; the next wave starts when these are ready")
	fs.IntVar(&c.reps, "reps", c.reps, "runs of each arm, interleaved (kube, node, kube, node, …)")
	armsFlag := fs.String("arms", strings.Join(c.arms, ","), "arms to run: kube (per-proxy informers), node (one rampart-node)")
	fs.DurationVar(&c.settle, "settle", c.settle, "time between all proxies ready and the first label change")
	fs.StringVar(&c.agentNamespaces, "agent-namespaces", c.agentNamespaces,
		`rampart-node --discovery-namespaces: "*" gives every proxy the whole cluster, as --discovery kube does`)
	fs.BoolVar(&c.keep, "keep", false, "keep the work dir (proxy and agent logs)")
	fs.StringVar(&c.logLevel, "log-level", c.logLevel, "rampart-proxy --log-level")
	fs.IntVar(&c.bigNodes, "project-nodes", c.bigNodes, "projection: nodes of the large cluster")
	fs.IntVar(&c.bigPods, "project-pods", c.bigPods, "projection: pods of the large cluster, every one injected")
	fs.IntVar(&c.bigNamespacePods, "project-namespace-pods", c.bigNamespacePods, "projection: pods of one namespace (what a node-fed proxy sees by default)")
	fs.Float64Var(&c.churn, "project-churn", c.churn, "projection: pod changes per second in the large cluster (an assumption)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.arms = strings.Split(*armsFlag, ",")
	for _, a := range c.arms {
		if a != "kube" && a != "node" {
			return c, fmt.Errorf("-arms: unknown arm %q", a)
		}
	}
	switch {
	case c.proxies < 1 || c.pods < 2*c.proxies || c.pods%c.proxies != 0:
		return c, fmt.Errorf("-pods %d, -proxies %d: want pods a multiple of proxies, at least twice as many", c.pods, c.proxies)
	case c.namespaces < 1 || c.pods%c.namespaces != 0 || c.services%c.namespaces != 0 || c.services < c.namespaces:
		return c, fmt.Errorf("-pods %d, -services %d: want both multiples of -namespaces %d", c.pods, c.services, c.namespaces)
	case c.changes < 1 || c.reps < 1 || c.wave < 1:
		return c, fmt.Errorf("-changes, -reps and -wave: want ≥ 1")
	}
	return c, nil
}
