package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/agent/catalog"
)

// RunOptions are rampart-node's flags.
type RunOptions struct {
	Kubeconfig  string // in-cluster config when empty
	Node        string // the node whose pods are captured
	CgroupRoot  string // found in /proc/mounts when empty
	PinRoot     string // redirect.DefaultPinRoot when empty
	MetricsAddr string // no metrics server when empty
	Accelerate  bool
	// DiscoverySocket is where the discovery catalog serves local proxies
	// (package catalog); none when empty.
	DiscoverySocket string
	// DiscoveryNamespaces a pod sees besides its own ("*": all).
	DiscoveryNamespaces []string
	// TrustDomain names the SPIFFE IDs the catalog gives meshed pods.
	TrustDomain string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Gatherer adds metrics to /metrics (the command passes controller-runtime's
	// workqueue metrics); none if nil.
	Gatherer prometheus.Gatherer
}

// Run is rampart-node: mount bpffs if needed, adopt pinned pods, watch the node's pods
// until ctx is done. Pods stay captured when it returns.
func Run(ctx context.Context, o RunOptions) error {
	if err := redirect.CheckKernel(); err != nil {
		return err
	}
	if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
		return err
	}
	if o.CgroupRoot == "" {
		root, err := Cgroup2Root("/proc/self/mountinfo")
		if err != nil {
			return err
		}
		o.CgroupRoot = root
	}
	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	r, err := New(Options{CgroupRoot: o.CgroupRoot, PinRoot: o.PinRoot, Accelerate: o.Accelerate, Registerer: reg, Logger: o.Logger})
	if err != nil {
		return err
	}
	r.log.Info("rampart-node", "node", o.Node, "cgroup-root", o.CgroupRoot, "adopted", len(r.Attached()))
	if o.MetricsAddr != "" {
		gs := prometheus.Gatherers{reg}
		if o.Gatherer != nil {
			gs = append(gs, o.Gatherer)
		}
		stop := serveMetrics(o.MetricsAddr, gs, r.Ready, r.log)
		defer stop()
	}
	if o.DiscoverySocket != "" {
		if err := startCatalog(ctx, cfg, o, reg, r.log); err != nil {
			return err
		}
	}
	return Watch(ctx, cfg, o.Node, r)
}

// startCatalog serves discovery to the node's proxies; it runs until ctx ends,
// and a socket that fails after start is logged (capture goes on).
func startCatalog(ctx context.Context, cfg *rest.Config, o RunOptions, reg prometheus.Registerer, log *slog.Logger) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("catalog client: %w", err)
	}
	c, err := catalog.New(catalog.Options{Client: client, Node: o.Node, Namespaces: o.DiscoveryNamespaces,
		TrustDomain: o.TrustDomain, Logger: log})
	if err != nil {
		return err
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_node_discovery_subscribers",
			Help: "Proxies following the discovery catalog now."}, func() float64 { return float64(c.Subscribers()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rampart_node_discovery_dropped_total",
			Help: "Discovery streams dropped because the proxy did not read in time."}, func() float64 { return float64(c.Dropped()) }))
	go c.Run(ctx)
	go func() {
		if err := c.Serve(ctx, o.DiscoverySocket); err != nil {
			log.Error("discovery socket stopped; capture goes on", "err", err)
		}
	}()
	log.Info("discovery catalog", "socket", o.DiscoverySocket, "namespaces", o.DiscoveryNamespaces)
	return nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return cfg, nil
}

// serveMetrics serves /metrics and the DaemonSet's probes: /healthz/live answers
// while the process serves, /healthz/ready once the pod cache has synced.
func serveMetrics(addr string, g prometheus.Gatherer, ready func() bool, log *slog.Logger) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz/live", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("/healthz/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "pod cache not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped; capture goes on", "err", err)
		}
	}()
	return func() { _ = srv.Close() }
}
