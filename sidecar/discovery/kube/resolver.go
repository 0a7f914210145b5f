package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// ErrRefused marks a Synced error that retrying cannot fix: the API server
// refused the proxy (401 or 403: credentials or RBAC) or does not serve a
// resource it needs (404).
var ErrRefused = errors.New("refused by the API server")

// Options configure a Resolver.
type Options struct {
	// Config reaches the API server (InCluster or LoadKubeconfig). Required.
	Config *rest.Config
	// TrustDomain names SPIFFE IDs of meshed pods; "cluster.local" when empty.
	TrustDomain string
	// SidecarName is the container (or native-sidecar init container) name that
	// marks a pod as meshed; "rampart-proxy" when empty.
	SidecarName string
	// Namespace limits the watch to one namespace; all when empty.
	Namespace string
	// Logger receives list and watch failures (retried) and, at debug level,
	// client-go's own log lines. Default: discarded.
	Logger *slog.Logger
	// WatchTimeout is how long the server keeps one watch open before the
	// informer re-watches from the last version it saw. Default: client-go's
	// (a random 5 to 10 minutes, so that proxies do not re-watch in step).
	WatchTimeout time.Duration
}

// Resolver is a discovery.Resolver fed by client-go informers on Pods, Services
// and EndpointSlices. Lookups read the informers' indexed caches and never call
// the API server.
type Resolver struct {
	opts               Options
	pods, svcs, slices *kind
	fatalOnce          sync.Once
	fatal              chan struct{} // closed on an error retrying cannot fix
	fatalErr           error
	updated            atomic.Int64 // unix nanos of the last object taken in; 0 before the first
}

// New validates opts and builds the informers; Start runs them.
func New(opts Options) (*Resolver, error) {
	if err := setDefaults(&opts); err != nil {
		return nil, fmt.Errorf("kube discovery: %w", err)
	}
	dyn, err := dynamic.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("kube discovery: %w", err)
	}
	k := &Resolver{opts: opts, fatal: make(chan struct{})}
	trimP := func(u *unstructured.Unstructured) *pod { return trimPod(u, opts.TrustDomain, opts.SidecarName) }
	core := schema.GroupVersion{Version: "v1"}
	if k.pods, err = k.newKind(dyn, core.WithResource("pods"), trimWith(trimP), byIP, podIPs); err != nil {
		return nil, fmt.Errorf("kube discovery: %w", err)
	}
	if k.svcs, err = k.newKind(dyn, core.WithResource("services"), trimWith(trimService), byVIP, serviceVIPs); err != nil {
		return nil, fmt.Errorf("kube discovery: %w", err)
	}
	slices := schema.GroupVersion{Group: "discovery.k8s.io", Version: "v1"}.WithResource("endpointslices")
	if k.slices, err = k.newKind(dyn, slices, trimWith(trimSlice), byService, sliceService); err != nil {
		return nil, fmt.Errorf("kube discovery: %w", err)
	}
	return k, nil
}

func setDefaults(opts *Options) error {
	if opts.Config == nil {
		return errors.New("no API server config")
	}
	if err := checkConfig(opts.Config); err != nil {
		return err
	}
	opts.Config = rest.CopyConfig(opts.Config)
	opts.Config.UserAgent = "rampart-proxy"
	if opts.TrustDomain == "" {
		opts.TrustDomain = "cluster.local"
	}
	if opts.SidecarName == "" {
		opts.SidecarName = "rampart-proxy"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// LastUpdate is when the view last took in an object from the API server
// (listed or watched, any kind); zero before the first.
func (k *Resolver) LastUpdate() time.Time {
	if u := k.updated.Load(); u != 0 {
		return time.Unix(0, u)
	}
	return time.Time{}
}

func (k *Resolver) kinds() []*kind { return []*kind{k.pods, k.svcs, k.slices} }

// Start runs the informers until ctx ends. It returns at once; Synced waits for
// the first full lists. client-go logs through opts.Logger (klog's contextual
// logger, carried by ctx: no global logger is touched).
func (k *Resolver) Start(ctx context.Context) {
	ctx = klog.NewContext(ctx, logr.FromSlogHandler(k.opts.Logger.Handler()))
	for _, kd := range k.kinds() {
		go kd.informer.RunWithContext(ctx)
	}
}

// Synced waits until every kind has been listed once. It fails at once, with
// ErrRefused, when the API server refuses the proxy, and with the last list
// error when ctx ends first.
func (k *Resolver) Synced(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for _, kd := range k.kinds() {
		for !kd.informer.HasSynced() {
			select {
			case <-tick.C:
			case <-k.fatal:
				return k.refused()
			case <-ctx.Done():
				if err := kd.err(); err != nil {
					return fmt.Errorf("kube discovery: %s not synced: %w", kd.name, err)
				}
				return fmt.Errorf("kube discovery: %s not synced: %w", kd.name, ctx.Err())
			}
		}
	}
	return nil
}

func (k *Resolver) refused() error {
	if apierrors.IsForbidden(k.fatalErr) {
		return fmt.Errorf("kube discovery: %w: %w (the proxy's service account needs get, list and watch "+
			"on pods, services and endpointslices: ClusterRole rampart-proxy from rampart install --proxy-kube-discovery)", ErrRefused, k.fatalErr)
	}
	return fmt.Errorf("kube discovery: %w: %w", ErrRefused, k.fatalErr)
}
