package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-mesh/rampart/redirect"
)

// ErrPending is returned by Sync when an attached pod is not complete yet (the
// proxy's container cgroup or its inbound listener is not there): Watch retries the
// pod with backoff, and until then the fail-closed defaults apply.
var ErrPending = errors.New("pending")

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
	// RetryBase and RetryMax bound Watch's per-pod exponential backoff when a sync
	// fails or is pending (defaults 100ms and 30s).
	RetryBase, RetryMax time.Duration
	// Workers is how many pods Watch syncs at once (default 2).
	Workers int
}

func (o *Options) setDefaults() {
	if o.PinRoot == "" {
		o.PinRoot = redirect.DefaultPinRoot
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 100 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
}

// Reconciler keeps capture attached to exactly the injected pods it is told about.
// Its methods are safe for concurrent use, except that Sync and Remove for one pod
// UID must not overlap (Watch's workqueue never runs one key twice at once). mu only
// guards the maps: no attach or detach runs under it.
type Reconciler struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	ready   atomic.Bool
	mu      sync.Mutex
	pods    map[string]*redirect.Handle // by pod UID
	dirs    map[string]string           // pod cgroup folders found, by pod UID
	ips     map[string]string           // pod IPs capture was set up for, by pod UID
	adopted []string                    // UIDs found pinned at start
}

// New returns a Reconciler that has adopted every pod pinned under PinRoot, so that
// a restarted agent keeps running pods captured.
func New(opts Options) (*Reconciler, error) {
	opts.setDefaults()
	r := &Reconciler{opts: opts, log: opts.Logger, pods: map[string]*redirect.Handle{},
		dirs: map[string]string{}, ips: map[string]string{}}
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
		r.adopted = append(r.adopted, uid)
	}
	return r, nil
}

// Ready reports whether Watch has synced its pod cache and queued the pods adopted
// at start (rampart-node's readiness).
func (r *Reconciler) Ready() bool { return r.ready.Load() }

// Sync attaches capture to an injected pod (once its IPs and proxy container are
// known), keeps the proxy's cgroup and inbound listener current, and detaches pods
// that stopped being injected. A pod that is not running yet is no error (its next
// status update brings it back); a missing pod cgroup is ErrNotFound, a missing
// proxy cgroup or listener ErrPending.
func (r *Reconciler) Sync(p *corev1.Pod) error {
	if !Injected(p) {
		return r.Remove(string(p.UID))
	}
	s, err := SpecOf(p)
	if err != nil {
		r.metrics.failures.Inc()
		return fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	h, ok := r.handle(s.UID)
	if !ok && (len(s.IPs) == 0 || s.ProxyContainerID == "") {
		return nil // not running yet: a later update brings IPs and the proxy's container
	}
	if ok && r.sandboxChanged(s) {
		// A new sandbox (new netns, new IPs) in the same pod cgroup: inbound capture
		// of the old one is moot, attach afresh.
		r.log.Info("pod addresses changed, attaching again", "pod", s.Name, "uid", s.UID)
		if err := r.Remove(s.UID); err != nil {
			return fmt.Errorf("pod %s: detach for new addresses: %w", s.Name, err)
		}
		ok = false
	}
	podDir, err := r.podDir(s.UID)
	if err != nil {
		r.metrics.failures.Inc()
		return fmt.Errorf("pod %s: %w", s.Name, err)
	}
	if !ok {
		if h, err = r.attach(s, podDir); err != nil {
			r.metrics.failures.Inc()
			return fmt.Errorf("attach %s: %w", s.Name, err)
		}
		r.mu.Lock()
		r.pods[s.UID] = h
		r.ips[s.UID] = ipKey(s.IPs)
		r.mu.Unlock()
		r.log.Info("attached", "pod", s.Name, "uid", s.UID, "cgroup", podDir)
	}
	if err := errors.Join(r.refreshProxyCgroup(h, s, podDir), r.registerListener(h, podDir)); err != nil {
		return fmt.Errorf("pod %s: %w", s.Name, err)
	}
	return nil
}

// sandboxChanged reports whether an attached pod now has other IPs than capture was
// set up for. A pod adopted from a pin takes its current IPs as the ones set up.
func (r *Reconciler) sandboxChanged(s PodSpec) bool {
	if len(s.IPs) == 0 {
		return false
	}
	key := ipKey(s.IPs)
	r.mu.Lock()
	defer r.mu.Unlock()
	old, known := r.ips[s.UID]
	if !known {
		r.ips[s.UID] = key
	}
	return known && old != key
}

func ipKey(ips []netip.Addr) string {
	ss := make([]string, len(ips))
	for i, ip := range ips {
		ss[i] = ip.String()
	}
	slices.Sort(ss)
	return strings.Join(ss, ",")
}

func (r *Reconciler) handle(uid string) (*redirect.Handle, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.pods[uid]
	return h, ok
}

// podDir finds a pod's cgroup once; later syncs cost no tree walk.
func (r *Reconciler) podDir(uid string) (string, error) {
	r.mu.Lock()
	dir, ok := r.dirs[uid]
	r.mu.Unlock()
	if ok {
		return dir, nil
	}
	dir, err := FindPodCgroup(r.opts.CgroupRoot, uid)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.dirs[uid] = dir
	r.mu.Unlock()
	return dir, nil
}

func (r *Reconciler) attach(s PodSpec, podDir string) (*redirect.Handle, error) {
	netns, err := NetNSOf(podDir)
	if err != nil {
		return nil, err
	}
	return redirect.Attach(redirect.Options{
		Name: s.UID, PinRoot: r.opts.PinRoot, CgroupPath: podDir, NetNSPath: netns,
		PodIPs: s.IPs, Mode: s.Mode, ExcludeInboundPorts: s.ExcludeIn,
		ExcludeOutboundPorts: s.ExcludeOut, ExcludeCIDRs: s.ExcludeCIDRs, Accelerate: r.opts.Accelerate,
	})
}

// refreshProxyCgroup exempts the proxy container's current cgroup; a restarted proxy
// container gets a new one. Until it is found the uid exemption (1337) applies.
func (r *Reconciler) refreshProxyCgroup(h *redirect.Handle, s PodSpec, podDir string) error {
	if s.ProxyContainerID == "" {
		return fmt.Errorf("proxy container id: %w", ErrPending)
	}
	dir, err := FindContainerCgroup(podDir, s.ProxyContainerID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("proxy container cgroup: %w", ErrPending)
	}
	if err != nil {
		return err
	}
	id, err := redirect.CgroupID(dir)
	if err != nil {
		return err
	}
	if cur, err := h.ProxyCgroupID(); err == nil && cur == id {
		return nil
	}
	return h.SetProxyCgroupID(id)
}

// registerListener hands the proxy's 15006 listener to sk_lookup once it exists;
// until then inbound plaintext is dropped (fail closed) and Watch retries.
func (r *Reconciler) registerListener(h *redirect.Handle, podDir string) error {
	if h.HasInboundListener() {
		return nil
	}
	f, err := redirect.FindListener(podDir, redirect.InboundPort)
	if errors.Is(err, redirect.ErrNoListener) {
		return fmt.Errorf("inbound listener: %w", ErrPending)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return h.SetInboundListener(f)
}

// Remove detaches a pod's capture and removes its pins, if attached.
func (r *Reconciler) Remove(uid string) error {
	r.mu.Lock()
	h, ok := r.pods[uid]
	delete(r.pods, uid)
	delete(r.dirs, uid)
	delete(r.ips, uid)
	r.mu.Unlock()
	if !ok {
		return nil
	}
	r.log.Info("detached", "uid", uid)
	return h.Close()
}

// RemoveGone detaches a pod that is gone from the API, once no process is left in
// its cgroup. A gracefully deleted pod leaves the API only after the kubelet stopped
// its containers; a force-deleted one may still run for a while, and keeps capture
// until it stops (ErrPending until then). Pins under a shared pin root whose pods
// still run elsewhere (another node's agent on the same host, as test clusters do)
// are left alone the same way.
func (r *Reconciler) RemoveGone(uid string) error {
	if _, ok := r.handle(uid); !ok {
		return nil
	}
	if dir, err := FindPodCgroup(r.opts.CgroupRoot, uid); err == nil {
		if _, err := NetNSOf(dir); err == nil {
			return fmt.Errorf("pod %s gone from the API but processes remain in %s: %w", uid, dir, ErrPending)
		}
	}
	return r.Remove(uid)
}

// Prune detaches every attached pod whose UID is not in live (pods deleted while no
// agent was running).
func (r *Reconciler) Prune(live map[string]bool) error {
	var errs []error
	for _, uid := range r.Attached() {
		if !live[uid] {
			errs = append(errs, r.Remove(uid))
		}
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
	pods := r.pods
	r.pods = map[string]*redirect.Handle{}
	r.mu.Unlock()
	var errs []error
	for _, h := range pods {
		errs = append(errs, h.Release())
	}
	return errors.Join(errs...)
}
