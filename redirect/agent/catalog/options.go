package catalog

import (
	"errors"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
)

// Options configure a Catalog.
type Options struct {
	// Client reaches the API server. Required.
	Client kubernetes.Interface
	// Node is this node's name: only a pod bound to it may subscribe. Required.
	Node string
	// Namespaces a pod sees besides its own; "*" means all.
	Namespaces []string
	// TrustDomain names SPIFFE IDs of meshed pods; "cluster.local" when empty.
	TrustDomain string
	// SidecarName is the container that marks a pod as meshed; "rampart-proxy"
	// when empty.
	SidecarName string
	// PodUIDOf names the pod a process runs in, from its pid. Default: read
	// /proc/<pid>/cgroup (PodUIDFromCgroup). Tests that cannot make cgroups
	// replace it (a fake, named as such where used).
	PodUIDOf func(pid int32) (string, error)
	// MaxSubscribers bounds concurrent streams (one goroutine each). Default 1024.
	MaxSubscribers int
	// LogSize bounds the change log; a subscriber further behind gets a full
	// snapshot again. Default 8192 changes.
	LogSize int
	// Heartbeat is the longest silence on a stream; the proxy counts the age of
	// its view from the last line. Default 5s.
	Heartbeat time.Duration
	// WriteTimeout drops a subscriber that does not take a line within it: a slow
	// reader costs one blocked goroutine for that long, never a growing queue.
	// Default 10s.
	WriteTimeout time.Duration
	// Logger defaults to discarding.
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.Client == nil {
		return errors.New("catalog: no API client")
	}
	if o.Node == "" {
		return errors.New("catalog: no node name")
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.TrustDomain, "cluster.local")
	def(&o.SidecarName, "rampart-proxy")
	if o.PodUIDOf == nil {
		o.PodUIDOf = func(pid int32) (string, error) { return PodUIDFromProc("/proc", pid) }
	}
	if o.MaxSubscribers <= 0 {
		o.MaxSubscribers = 1024
	}
	if o.LogSize <= 0 {
		o.LogSize = 8192
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
