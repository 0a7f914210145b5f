package demo

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

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/redirect"
)

// EnvOptions configure an Env.
type EnvOptions struct {
	// Tag starts every name the Env creates ("rpdemo", "rpe2e"): 2-6 lower-case
	// letters or digits. Required.
	Tag string
	// Helper builds the command line (and extra environment) that re-executes
	// this program as a helper (apps, clients): CLIHelper or TestHelper. Required.
	Helper HelperCommand
	// ProxyBinary is the rampart-proxy executable. Required for meshed pods.
	ProxyBinary string
	// Subnet is the pods' network; the bridge takes its last usable address.
	// Default 198.18.8.0/24.
	Subnet netip.Prefix
	// Logger receives progress. Default: discarded.
	Logger *slog.Logger
	// Context, when cancelled (Ctrl-C), makes every wait of the harness give up at
	// once so that the caller can Close. Default: never cancelled.
	Context context.Context
}

func (o *EnvOptions) setDefaults() {
	if !o.Subnet.IsValid() {
		o.Subnet = netip.MustParsePrefix("198.18.8.0/24")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
}

// Env is one run's private network: a hub namespace holding a bridge, a cgroup
// folder for its pods, a bpffs pin folder and a work folder.
type Env struct {
	Prefix  string     // e.g. "rpe2e1f3a-1"; every name created starts with it
	Hub     string     // the hub namespace's name (under /run/netns)
	HubIP   netip.Addr // the bridge's address, reachable from every pod
	Cgroup  string     // cgroup v2 folder holding the pods' cgroups
	PinRoot string     // bpffs folder holding the pods' pins
	Dir     string     // work folder: bundles, registry, logs, CA

	opts EnvOptions
	log  *slog.Logger

	mu       sync.Mutex
	cleanups []func() error
	next     int // last pod index handed out
	closed   bool

	ca *identity.CA // the mesh's CA (InitCA); in memory only

	egressResolver string // DNS server proxies check egress names with ("" = system)

	featOnce sync.Once
	feat     proxyFeatures
	featErr  error
}

// envSeq numbers the Envs of one process so that their prefixes differ.
var envSeq atomic.Int64

// NewEnv checks the machine (see Check), sweeps what killed runs with the same tag
// left behind, and creates the hub namespace, bridge, cgroup and folders.
func NewEnv(opts EnvOptions) (env *Env, err error) {
	opts.setDefaults()
	if !validTag(opts.Tag) || opts.Helper == nil {
		return nil, errors.New("demo: EnvOptions need a Tag (2-6 of a-z0-9) and a Helper")
	}
	if err := Check(); err != nil {
		return nil, err
	}
	if err := Sweep(opts.Tag); err != nil {
		opts.Logger.Warn("sweep of stale runs incomplete", "err", err)
	}
	cgroot, err := redirect.Cgroup2Mount()
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	p := prefix(opts.Tag, os.Getpid(), int(envSeq.Add(1)))
	e := &Env{
		Prefix: p, Hub: p + "-hub", HubIP: lastAddr(opts.Subnet),
		Cgroup: filepath.Join(cgroot, p), PinRoot: filepath.Join(redirect.BPFFSRoot, p),
		Dir: filepath.Join(os.TempDir(), p), opts: opts, log: opts.Logger,
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
		return fmt.Errorf("demo: work dir: %w", err)
	}
	e.onClose(func() error { return os.RemoveAll(e.Dir) })
	if err := os.Chmod(e.Dir, 0o755); err != nil { // the proxy (uid 1337) reads from it
		return fmt.Errorf("demo: work dir: %w", err)
	}
	if err := os.Mkdir(e.Cgroup, 0o755); err != nil {
		return fmt.Errorf("demo: cgroup: %w", err)
	}
	e.onClose(func() error { return removeCgroup(e.Cgroup) })
	if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
		return fmt.Errorf("demo: bpffs: %w", err)
	}
	e.onClose(func() error { return removePins(e.PinRoot) })
	if err := e.addNetNS(e.Hub); err != nil {
		return err
	}
	bits := e.opts.Subnet.Bits()
	return e.ip(e.Hub,
		"link add br0 type bridge",
		"link set br0 up",
		fmt.Sprintf("addr add %s/%d dev br0", e.HubIP, bits),
		fmt.Sprintf("route add %s dev br0", netRange),
	)
}

// netRange is the benchmarking range every address of an Env comes from: pods
// route all of it on-link, so pods of several /24s share one bridge.
const netRange = "198.18.0.0/15"

// onClose registers a teardown step; Close runs them last first.
func (e *Env) onClose(f func() error) {
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
