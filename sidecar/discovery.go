package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube"
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
	return k, nil
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
	case *discovery.File:
		out = map[string]any{"source": "file", "registry": v.opts.Outbound.RegistryFile}
	case nil:
	default:
		out["source"] = "custom"
	}
	return json.Marshal(out)
}
