package netpod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/rampart-mesh/rampart/redirect"
)

// Options configure an Env.
type Options struct {
	// Tag starts every name the Env creates ("rpdemo", "rdr"): 2-6 lower-case
	// letters or digits. Required.
	Tag string
	// Subnet, when set, gives the bridge the subnet's last usable address (Env.HubIP)
	// and every pod an on-link route to all of 198.18.0.0/15, so pods of several
	// subnets share the bridge. Unset: the bridge has no address and pods only
	// reach the subnets of their own addresses.
	Subnet netip.Prefix
	// Pins makes a bpffs folder for the pods' capture pins (Env.PinRoot); Close
	// detaches everything pinned there.
	Pins bool
	// Logger receives warnings (an incomplete sweep). Default: discarded.
	Logger *slog.Logger
	// Context, when cancelled (Ctrl-C), makes every wait on a process give up at
	// once so that the caller can Close. Default: never cancelled.
	Context context.Context
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
}

// Env is one run's private network: a hub namespace holding a bridge, a cgroup
// folder for its pods, a work folder and (Options.Pins) a bpffs pin folder.
type Env struct {
	Prefix  string     // e.g. "rpe2e1f3a-1"; every name created starts with it
	Hub     string     // the hub namespace's name (under /run/netns)
	HubIP   netip.Addr // the bridge's address when Options.Subnet is set
	Cgroup  string     // cgroup v2 folder holding the pods' cgroups
	PinRoot string     // bpffs folder for the pods' pins ("" without Options.Pins)
	Dir     string     // work folder; processes' stderr logs go here

	opts Options

	mu       sync.Mutex
	cleanups []func() error
	next     int // last pod index handed out
	closed   bool
}

// envSeq numbers the Envs of one process so that their prefixes differ.
var envSeq atomic.Int64

// New sweeps what killed runs with the same tag left behind, then creates the hub
// namespace, bridge, cgroup and folders. On error nothing it made is left.
func New(opts Options) (env *Env, err error) {
	opts.setDefaults()
	if !validTag(opts.Tag) {
		return nil, fmt.Errorf("netpod: tag %q: want 2-6 of a-z0-9", opts.Tag)
	}
	if err := Sweep(opts.Tag); err != nil {
		opts.Logger.Warn("sweep of stale runs incomplete", "err", err)
	}
	cgroot, err := redirect.Cgroup2Mount()
	if err != nil {
		return nil, fmt.Errorf("netpod: %w", err)
	}
	p := prefix(opts.Tag, os.Getpid(), int(envSeq.Add(1)))
	e := &Env{Prefix: p, Hub: p + "-hub", Cgroup: filepath.Join(cgroot, p),
		Dir: filepath.Join(os.TempDir(), p), opts: opts}
	if opts.Subnet.IsValid() {
		e.HubIP = lastAddr(opts.Subnet)
	}
	if opts.Pins {
		e.PinRoot = filepath.Join(redirect.BPFFSRoot, p)
	}
	defer func() {
		if err != nil {
			e.Close()
			env = nil
		}
	}()
	return e, e.setup()
}

func (e *Env) setup() error {
	if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return fmt.Errorf("netpod: work dir: %w", err)
	}
	e.OnClose(func() error { return os.RemoveAll(e.Dir) })
	if err := os.Chmod(e.Dir, 0o755); err != nil { // processes of other uids read from it
		return fmt.Errorf("netpod: work dir: %w", err)
	}
	if err := os.Mkdir(e.Cgroup, 0o755); err != nil {
		return fmt.Errorf("netpod: cgroup: %w", err)
	}
	e.OnClose(func() error { return removeCgroup(e.Cgroup) })
	if e.PinRoot != "" {
		if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
			return fmt.Errorf("netpod: bpffs: %w", err)
		}
		e.OnClose(func() error { return removePins(e.PinRoot) })
	}
	if err := e.addNetNS(e.Hub); err != nil {
		return err
	}
	cmds := []string{"link add br0 type bridge", "link set br0 up"}
	if e.HubIP.IsValid() {
		cmds = append(cmds, fmt.Sprintf("addr add %s/%d dev br0", e.HubIP, e.opts.Subnet.Bits()),
			fmt.Sprintf("route add %s dev br0", netRange))
	}
	return e.IP(e.Hub, cmds...)
}

// netRange is the benchmarking range every address of an Env comes from: with a
// Subnet, pods route all of it on-link, so pods of several /24s share one bridge.
const netRange = "198.18.0.0/15"

// OnClose registers a teardown step; Close runs them last first.
func (e *Env) OnClose(f func() error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cleanups = append(e.cleanups, f)
}

// Close tears everything down, last created first, and returns the joined errors.
// It is safe to call more than once.
func (e *Env) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	steps := e.cleanups
	e.cleanups = nil
	e.mu.Unlock()
	var errs []error
	for i := len(steps) - 1; i >= 0; i-- {
		if err := steps[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Path returns a file name inside the work folder.
func (e *Env) Path(name string) string { return filepath.Join(e.Dir, name) }

// Context is the Env's Options.Context.
func (e *Env) Context() context.Context { return e.opts.Context }

// Subnet is the Env's Options.Subnet.
func (e *Env) Subnet() netip.Prefix { return e.opts.Subnet }

// MakeCgroup creates a cgroup folder (and its parents) under the Env's cgroup,
// removed with it.
func (e *Env) MakeCgroup(rel string) (string, error) {
	dir := filepath.Join(e.Cgroup, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("netpod: cgroup %s: %w", rel, err)
	}
	return dir, nil
}

func validTag(tag string) bool {
	if len(tag) < 2 || len(tag) > 6 {
		return false
	}
	for _, c := range tag {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 2
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
