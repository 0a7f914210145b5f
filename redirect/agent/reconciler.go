package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-mesh/rampart/redirect"
)

// Options configure a Reconciler.
type Options struct {
	// CgroupRoot is the cgroup v2 mount (or the folder holding kubelet's pods).
	CgroupRoot string
	// PinRoot is where pods are pinned; redirect.DefaultPinRoot if empty.
	PinRoot string
	// Accelerate turns on the sk_msg short-circuit for every pod.
	Accelerate bool
	// Registerer receives the agent's metrics; none if nil.
	Registerer prometheus.Registerer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Reconciler keeps capture attached to exactly the injected pods it is told about.
// Its methods are safe for concurrent use.
type Reconciler struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	mu      sync.Mutex
	pods    map[string]*redirect.Handle // by pod UID
}

// New returns a Reconciler that has adopted every pod pinned under PinRoot, so that
// a restarted agent keeps running pods captured.
func New(opts Options) (*Reconciler, error) {
	if opts.PinRoot == "" {
		opts.PinRoot = redirect.DefaultPinRoot
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Reconciler{opts: opts, log: opts.Logger, pods: map[string]*redirect.Handle{}}
	r.metrics = newMetrics(r)
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(r.metrics); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	names, err := redirect.Pinned(opts.PinRoot)
	if err != nil {
		return nil, err
	}
	for _, uid := range names {
		h, err := redirect.Adopt(opts.PinRoot, uid)
		if err != nil {
			r.log.Warn("adopt pinned pod", "uid", uid, "err", err)
			continue
		}
		r.pods[uid] = h
	}
	return r, nil
}

// Sync attaches capture to an injected pod (once), registers its proxy's inbound
// listener when it listens, and detaches pods that stopped being injected.
func (r *Reconciler) Sync(p *corev1.Pod) error {
	if !Injected(p) {
		return r.Remove(string(p.UID))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.pods[string(p.UID)]
	if !ok {
		var err error
		if h, err = r.attach(p); err != nil {
			r.metrics.failures.Inc()
			return fmt.Errorf("attach %s/%s: %w", p.Namespace, p.Name, err)
		}
		r.pods[string(p.UID)] = h
		r.log.Info("attached", "pod", p.Namespace+"/"+p.Name, "uid", p.UID)
	}
	return r.registerListener(h, p)
}

func (r *Reconciler) attach(p *corev1.Pod) (*redirect.Handle, error) {
	s, err := SpecOf(p)
	if err != nil {
		return nil, err
	}
	podDir, err := FindPodCgroup(r.opts.CgroupRoot, s.UID)
	if err != nil {
		return nil, err
	}
	netns, err := NetNSOf(podDir)
	if err != nil {
		return nil, err
	}
	opts := redirect.Options{
		Name: s.UID, PinRoot: r.opts.PinRoot, CgroupPath: podDir, NetNSPath: netns,
		PodIPs: s.IPs, Mode: s.Mode, ExcludeInboundPorts: s.ExcludeIn,
		ExcludeOutboundPorts: s.ExcludeOut, ExcludeCIDRs: s.ExcludeCIDRs, Accelerate: r.opts.Accelerate,
	}
	if s.ProxyContainerID != "" {
		if dir, err := FindContainerCgroup(podDir, s.ProxyContainerID); err == nil {
			opts.ProxyCgroupID, _ = redirect.CgroupID(dir)
		}
	}
	return redirect.Attach(opts)
}

// registerListener hands the proxy's 15006 listener to sk_lookup once it exists;
// until then inbound plaintext is dropped (fail closed) and a later Sync retries.
func (r *Reconciler) registerListener(h *redirect.Handle, p *corev1.Pod) error {
	if h.HasInboundListener() {
		return nil
	}
	podDir, err := FindPodCgroup(r.opts.CgroupRoot, string(p.UID))
	if err != nil {
		return err
	}
	f, err := redirect.FindListener(podDir, redirect.InboundPort)
	if errors.Is(err, redirect.ErrNoListener) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return h.SetInboundListener(f)
}

// Remove detaches a pod's capture, if attached.
func (r *Reconciler) Remove(uid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.pods[uid]
	if !ok {
		return nil
	}
	delete(r.pods, uid)
	r.log.Info("detached", "uid", uid)
	return h.Close()
}

// Prune detaches every attached pod whose UID is not in live (pods deleted while no
// agent was running).
func (r *Reconciler) Prune(live map[string]bool) error {
	r.mu.Lock()
	var gone []string
	for uid := range r.pods {
		if !live[uid] {
			gone = append(gone, uid)
		}
	}
	r.mu.Unlock()
	var errs []error
	for _, uid := range gone {
		errs = append(errs, r.Remove(uid))
	}
	return errors.Join(errs...)
}

// Attached lists the UIDs of the captured pods.
func (r *Reconciler) Attached() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	uids := make([]string, 0, len(r.pods))
	for uid := range r.pods {
		uids = append(uids, uid)
	}
	return uids
}

// Close lets go of every pod while leaving it captured and pinned, for the next agent.
func (r *Reconciler) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for uid, h := range r.pods {
		errs = append(errs, h.Release())
		delete(r.pods, uid)
	}
	return errors.Join(errs...)
}
