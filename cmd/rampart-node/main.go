// Command rampart-node is Rampart's DaemonSet agent: it captures the traffic of the
// injected pods of its node into their proxies with eBPF (see redirect/agent).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
	"github.com/rampart-mesh/rampart/redirect/agent"
)

func main() {
	if version.HandleFlag("rampart-node", os.Args[1:], os.Stdout) {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, pflag.ErrHelp) {
		slog.Error("rampart-node", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var o agent.RunOptions
	fs := pflag.NewFlagSet("rampart-node", pflag.ContinueOnError)
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file; in-cluster config when empty")
	fs.StringVar(&o.Node, "node-name", os.Getenv("NODE_NAME"), "this node's name ($NODE_NAME)")
	fs.StringVar(&o.CgroupRoot, "cgroup-root", "", "cgroup v2 mount; found in /proc/mounts when empty")
	fs.StringVar(&o.PinRoot, "pin-root", "", "bpffs folder for pins (default /sys/fs/bpf/rampart)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":9965", "address of /metrics; empty turns it off")
	fs.BoolVar(&o.Accelerate, "accelerate", false, "sk_msg short-circuit of app<->proxy bytes (experimental)")
	fs.StringVar(&o.DiscoverySocket, "discovery-socket", "/var/run/rampart/node/discovery.sock",
		"unix socket serving service discovery to the node's proxies; empty turns it off")
	namespaces := fs.String("discovery-namespaces", "", "comma-separated namespaces every pod sees besides its own (\"*\": all)")
	fs.StringVar(&o.TrustDomain, "trust-domain", "cluster.local", "SPIFFE trust domain of meshed pods")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	// controller-runtime logs through its own global logger; its workqueue metrics
	// (depth, retries, latency of the pod queue) join rampart-node's on /metrics.
	ctrllog.SetLogger(logr.FromSlogHandler(slog.Default().Handler()))
	if *namespaces != "" {
		o.DiscoveryNamespaces = strings.Split(*namespaces, ",")
	}
	o.Gatherer = ctrlmetrics.Registry
	return agent.Run(ctx, o)
}
