package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// Options configure a Resolver.
type Options struct {
	// Config reaches the API server. Required.
	Config Config
	// TrustDomain names SPIFFE IDs of meshed pods; "cluster.local" when empty.
	TrustDomain string
	// SidecarName is the container (or native-sidecar init container) name that
	// marks a pod as meshed; "rampart-proxy" when empty.
	SidecarName string
	// Namespace limits the watch to one namespace; all when empty.
	Namespace string
	// Logger receives list and watch failures (retried). Default: discarded.
	Logger *slog.Logger
	// WatchTimeout is how long the server keeps one watch open before the
	// resolver re-watches from the last version it saw. Default 5m.
	WatchTimeout time.Duration
}

// Resolver is a discovery.Resolver fed by watches on Pods, Services and
// EndpointSlices. Lookups read an in-memory index and never call the API server.
type Resolver struct {
	opts   Options
	client *client
	st     *store
	kinds  []*kind

	fatalOnce sync.Once
	fatal     chan struct{} // closed on an error retrying cannot fix (401, 403, 404)
	fatalErr  error
}

// New validates opts; Start begins watching.
func New(opts Options) (*Resolver, error) {
	if opts.TrustDomain == "" {
		opts.TrustDomain = "cluster.local"
	}
	if opts.SidecarName == "" {
		opts.SidecarName = "rampart-proxy"
	}
	if opts.WatchTimeout <= 0 {
		opts.WatchTimeout = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := newClient(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("kube discovery: %w", err)
	}
	k := &Resolver{opts: opts, client: c, st: newStore(), fatal: make(chan struct{})}
	ns := ""
	if opts.Namespace != "" {
		ns = "/namespaces/" + opts.Namespace
	}
	k.kinds = []*kind{
		{name: "pods", path: "/api/v1" + ns + "/pods", sample: &pod{}, decode: k.decodePod},
		{name: "services", path: "/api/v1" + ns + "/services", sample: &service{}, decode: decodeService},
		{name: "endpointslices", path: "/apis/discovery.k8s.io/v1" + ns + "/endpointslices", sample: &slice{}, decode: decodeSlice},
	}
	for _, kd := range k.kinds {
		kd.synced = make(chan struct{})
	}
	return k, nil
}

// Start watches every kind until ctx ends. It returns at once; Synced waits for
// the first full lists.
func (k *Resolver) Start(ctx context.Context) {
	for _, kd := range k.kinds {
		go k.run(ctx, kd)
	}
}

// Synced waits until every kind has been listed once. It fails at once when the
// API server refuses the proxy (401, 403, 404: credentials or RBAC), and with the
// last list error when ctx ends first.
func (k *Resolver) Synced(ctx context.Context) error {
	for _, kd := range k.kinds {
		select {
		case <-kd.synced:
		case <-k.fatal:
			var se *StatusError
			if errors.As(k.fatalErr, &se) && se.Code == http.StatusForbidden {
				return fmt.Errorf("kube discovery: %w (the proxy's service account needs get, list and watch "+
					"on pods, services and endpointslices: ClusterRole rampart-proxy from rampart install)", k.fatalErr)
			}
			return fmt.Errorf("kube discovery: %w", k.fatalErr)
		case <-ctx.Done():
			if err := kd.err(); err != nil {
				return fmt.Errorf("kube discovery: %s not synced: %w", kd.name, err)
			}
			return fmt.Errorf("kube discovery: %s not synced: %w", kd.name, ctx.Err())
		}
	}
	return nil
}

// Workload implements discovery.Resolver.
func (k *Resolver) Workload(ip netip.Addr) (discovery.Workload, bool) {
	k.st.mu.RLock()
	defer k.st.mu.RUnlock()
	return k.workload(ip.Unmap())
}

func (k *Resolver) workload(ip netip.Addr) (discovery.Workload, bool) {
	keys := k.st.podsByIP[ip]
	if len(keys) == 0 {
		return discovery.Workload{}, false
	}
	w := k.st.pods[keys[len(keys)-1]].w // the newest holder of the IP
	w.IP = ip
	return w, true
}

// Endpoints implements discovery.Resolver: dst is a Service cluster IP and TCP
// port; the result is the ready addresses of its EndpointSlices with the target
// port of the same port name, of dst's address family (as kube-proxy routes a
// dual-stack service).
func (k *Resolver) Endpoints(dst netip.AddrPort) ([]discovery.Endpoint, bool) {
	k.st.mu.RLock()
	defer k.st.mu.RUnlock()
	for _, key := range k.st.servicesBy[dst.Addr().Unmap()] {
		if name, ok := k.st.services[key].ports[dst.Port()]; ok {
			return k.endpoints(key, name, dst.Addr().Unmap().Is4()), true
		}
	}
	return nil, false
}

func (k *Resolver) endpoints(svc, portName string, v4 bool) []discovery.Endpoint {
	var eps []discovery.Endpoint
	for _, key := range k.st.slicesBySvc[svc] {
		s := k.st.slices[key]
		port, ok := s.ports[portName]
		if !ok {
			continue
		}
		for _, ip := range s.ready {
			if ip.Is4() != v4 {
				continue
			}
			w, ok := k.workload(ip)
			if !ok {
				w = discovery.Workload{IP: ip} // no pod known: not meshed
			}
			eps = append(eps, discovery.Endpoint{Workload: w, Addr: netip.AddrPortFrom(ip, port)})
		}
	}
	return eps
}
