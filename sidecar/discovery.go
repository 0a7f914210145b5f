package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube"
	"github.com/rampart-mesh/rampart/sidecar/discovery/node"
)

// DiscoveryOptions select where service endpoints and peer workloads come from
// when Outbound.Resolver is not set: the Kubernetes API server (Kube), else the
// registry file (Outbound.RegistryFile), else nowhere (every captured
// destination passes through unmeshed).
type DiscoveryOptions struct {
	// Kube, when set, watches Pods, Services and EndpointSlices through this API
	// server (kube.InCluster or kube.LoadKubeconfig). Exclusive with
	// Outbound.RegistryFile.
	Kube *rest.Config
	// Namespace limits the Kubernetes watch to one namespace; "" = all.
	Namespace string
	// NodeSocket, when set, follows rampart-node's discovery stream on this unix
	// socket (the default in injected pods): the agent watches the API once per
	// node and the proxy needs no API access. Exclusive with Kube and
	// Outbound.RegistryFile.
	NodeSocket string
	// SyncTimeout bounds the wait for the first full list at start; the proxy
	// does not serve before it knows the mesh. Default 30s.
	SyncTimeout time.Duration
}

// resolver builds the configured discovery and keeps it fresh until ctx ends.
func resolver(ctx context.Context, opts *Options) (discovery.Resolver, error) {
	o, d := &opts.Outbound, opts.Discovery
	switch {
	case o.Resolver != nil:
		return o.Resolver, nil
	case d.Kube != nil && o.RegistryFile != "":
		return nil, errors.New("sidecar: a registry file and Kubernetes discovery exclude each other")
	case d.NodeSocket != "" && (d.Kube != nil || o.RegistryFile != ""):
		return nil, errors.New("sidecar: node discovery excludes Kubernetes discovery and a registry file")
	case d.NodeSocket != "":
		return nodeResolver(ctx, opts)
	case d.Kube != nil:
		return kubeResolver(ctx, opts)
	case o.RegistryFile == "":
		return nil, nil
	}
	f, err := discovery.LoadFile(o.RegistryFile)
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	go f.Watch(ctx, 2*time.Second, opts.Logger)
	return f, nil
}

func kubeResolver(ctx context.Context, opts *Options) (discovery.Resolver, error) {
	d := opts.Discovery
	k, err := kube.New(kube.Options{Config: d.Kube, TrustDomain: opts.Identity.TrustDomain,
		Namespace: d.Namespace, Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	k.Start(ctx)
	sctx, cancel := context.WithTimeout(ctx, d.SyncTimeout)
	defer cancel()
	if err := k.Synced(sctx); err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	opts.Logger.Info("kube discovery synced", "apiServer", d.Kube.Host, "namespace", d.Namespace)
	if err := registerLastUpdate(opts.Registerer, k.LastUpdate); err != nil {
		return nil, err
	}
	return k, nil
}

// nodeResolver follows the node agent. Unlike the API server, the agent is
// local and restarts with the node: the proxy waits for a first snapshot (it
// does not serve before it knows the mesh), then serves its last view through
// any later outage.
func nodeResolver(ctx context.Context, opts *Options) (discovery.Resolver, error) {
	d := opts.Discovery
	r := node.New(node.Options{Socket: d.NodeSocket, Logger: opts.Logger})
	r.Start(ctx)
	sctx, cancel := context.WithTimeout(ctx, d.SyncTimeout)
	defer cancel()
	if err := r.Synced(sctx); err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	opts.Logger.Info("node discovery synced", "socket", d.NodeSocket)
	if opts.Registerer != nil {
		age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_discovery_view_age_seconds",
			Help: "Seconds since the node agent last confirmed the proxy's discovery view (heartbeats included)."},
			func() float64 { return r.Age().Seconds() })
		if err := opts.Registerer.Register(age); err != nil {
			return nil, fmt.Errorf("sidecar: %w", err)
		}
	}
	if err := registerLastUpdate(opts.Registerer, r.LastUpdate); err != nil {
		return nil, err
	}
	return r, nil
}

// registerLastUpdate exports when the discovery view last changed, as Envoy's
// update_time does for its xDS: how an operator (and test/bench/discovery)
// sees how long a change took to reach each proxy.
func registerLastUpdate(reg prometheus.Registerer, last func() time.Time) error {
	if reg == nil {
		return nil
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_discovery_last_update_timestamp_seconds",
		Help: "Unix time at which the discovery view last took in an update: an object from the API server " +
			"(--discovery kube), a snapshot or change from rampart-node (--discovery node); heartbeats do not count."},
		func() float64 {
			if t := last(); !t.IsZero() {
				return float64(t.UnixNano()) / 1e9
			}
			return 0
		})
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("sidecar: %w", err)
	}
	return nil
}

// discoveryView is the "discovery" entry of /debug/config, read when served so
// it shows what the proxy knows now.
type discoveryView struct {
	opts *Options
	res  discovery.Resolver
}

func (v discoveryView) MarshalJSON() ([]byte, error) {
	out := map[string]any{"source": "none"}
	switch r := v.res.(type) {
	case *kube.Resolver:
		out = map[string]any{"source": "kube", "apiServer": v.opts.Discovery.Kube.Host,
			"namespace": v.opts.Discovery.Namespace, "view": r.View()}
	case *node.Resolver:
		connected, version, err := r.Status()
		out = map[string]any{"source": "node", "socket": v.opts.Discovery.NodeSocket, "connected": connected,
			"version": version, "ageSeconds": r.Age().Seconds(), "view": r.View()}
		if err != nil {
			out["lastError"] = err.Error()
		}
	case *discovery.File:
		out = map[string]any{"source": "file", "registry": v.opts.Outbound.RegistryFile}
	case nil:
	default:
		out["source"] = "custom"
	}
	return json.Marshal(out)
}
