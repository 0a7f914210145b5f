package sidecar

import (
	"context"
	"net/netip"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// selfLabelsWait bounds how long a starting proxy waits for discovery to know its
// own pod. The kubelet reports the pod's IP while it starts the sidecar, so the
// first lookups can miss; the startup probe holds the app back meanwhile.
const selfLabelsWait = 10 * time.Second

// selfLabels returns this pod's labels as discovery sees them, for
// destination.labels when none were given (an injected pod: the injector sets no
// labels, since the downward API offers them only as a file and the pod's labels
// are the API server's to tell). It polls until one of ips resolves or wait ends.
func selfLabels(ctx context.Context, w inbound.WorkloadResolver, ips []netip.Addr, wait time.Duration) (map[string]string, bool) {
	deadline := time.Now().Add(wait)
	for {
		for _, ip := range ips {
			if wl, ok := w.Workload(ip); ok {
				return wl.Labels, true
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, false
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fillSelfLabels sets opts.Inbound.Labels from discovery when they were not given.
func fillSelfLabels(ctx context.Context, opts *Options, w inbound.WorkloadResolver) {
	in := &opts.Inbound
	if len(in.Labels) > 0 || w == nil || len(in.PodIPs) == 0 {
		return
	}
	labels, ok := selfLabels(ctx, w, in.PodIPs, selfLabelsWait)
	if !ok {
		opts.Logger.Warn("this pod is not in discovery: destination.labels stay empty", "pod_ips", in.PodIPs)
		return
	}
	in.Labels = labels
	opts.Logger.Info("destination labels from discovery", "labels", labels)
}
