package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// DefaultSocket is where rampart-node serves discovery, on the node and in the pod.
const DefaultSocket = "/var/run/rampart/node/discovery.sock"

// Options configure a Resolver.
type Options struct {
	// Socket is the agent's unix socket. Default DefaultSocket.
	Socket string
	// MinBackoff and MaxBackoff bound the wait between reconnects. Default 100ms and 1s:
	// the agent is a local socket (a failed dial costs nothing), and a proxy that
	// waits longer than a new pod takes to start would deny that pod's first requests
	// (it learns the pod's identity only from the agent).
	MinBackoff, MaxBackoff time.Duration
	// IdleTimeout ends a stream on which the agent said nothing (not even a
	// heartbeat) for this long, and reconnects. Default 20s (4 heartbeats).
	IdleTimeout time.Duration
	// MaxLine bounds one message (a full snapshot of the visible namespaces).
	// Default 64 MiB.
	MaxLine int
	// Logger defaults to discarding.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Socket == "" {
		o.Socket = DefaultSocket
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(time.Second, o.MinBackoff)
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 20 * time.Second
	}
	if o.MaxLine <= 0 {
		o.MaxLine = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// ErrNoView is returned by Synced when ctx ends before the first snapshot.
var ErrNoView = errors.New("node discovery: no snapshot from the agent yet")

// Resolver is a discovery.Resolver fed by the node agent.
type Resolver struct {
	opts      Options
	view      atomic.Pointer[view]
	heard     atomic.Int64 // unix nanos of the last line from the agent; 0 before the first snapshot
	updated   atomic.Int64 // unix nanos of the last snapshot or change applied; 0 before the first
	synced    chan struct{}
	syncOnce  sync.Once
	connected atomic.Bool
	lastErr   atomic.Pointer[error]
	client    *http.Client
}

// New returns a Resolver; Start connects.
func New(opts Options) *Resolver {
	opts.setDefaults()
	r := &Resolver{opts: opts, synced: make(chan struct{})}
	r.view.Store(emptyView())
	var d net.Dialer
	r.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", opts.Socket)
		},
		DisableCompression: true, ResponseHeaderTimeout: 10 * time.Second,
	}}
	return r
}

// Start follows the agent until ctx ends, reconnecting with backoff.
func (r *Resolver) Start(ctx context.Context) { go r.run(ctx) }

// Synced waits for the first snapshot.
func (r *Resolver) Synced(ctx context.Context) error {
	select {
	case <-r.synced:
		return nil
	case <-ctx.Done():
		if p := r.lastErr.Load(); p != nil {
			return fmt.Errorf("%w: %w", ErrNoView, *p)
		}
		return ErrNoView
	}
}

// Age is how long ago the agent last confirmed the view; -1 before the first snapshot.
func (r *Resolver) Age() time.Duration {
	h := r.heard.Load()
	if h == 0 {
		return -1
	}
	return time.Since(time.Unix(0, h))
}

// LastUpdate is when the view last took in a snapshot or a change (heartbeats
// do not count); zero before the first snapshot.
func (r *Resolver) LastUpdate() time.Time {
	if u := r.updated.Load(); u != 0 {
		return time.Unix(0, u)
	}
	return time.Time{}
}

// Status says whether the stream is up and, if not, why it last failed.
func (r *Resolver) Status() (connected bool, version uint64, err error) {
	if p := r.lastErr.Load(); p != nil {
		err = *p
	}
	return r.connected.Load(), r.view.Load().version, err
}

// Workload implements discovery.Resolver.
func (r *Resolver) Workload(ip netip.Addr) (discovery.Workload, bool) {
	return r.view.Load().workload(ip)
}

// Endpoints implements discovery.Resolver.
func (r *Resolver) Endpoints(dst netip.AddrPort) ([]discovery.Endpoint, bool) {
	return r.view.Load().endpoints(dst)
}

func (r *Resolver) run(ctx context.Context) {
	backoff := r.opts.MinBackoff
	for ctx.Err() == nil {
		got, err := r.follow(ctx)
		r.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		r.lastErr.Store(&err)
		if got {
			backoff = r.opts.MinBackoff // it was working: try again soon
		}
		r.opts.Logger.Warn("node discovery: stream ended; serving the last view", "err", err,
			"age", r.Age().Round(time.Millisecond), "retryIn", backoff)
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(2*backoff, r.opts.MaxBackoff)
	}
}

// follow reads one stream until it fails; got reports whether a message came.
func (r *Resolver) follow(ctx context.Context) (got bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://rampart-node/v1/watch", nil)
	if err != nil {
		return false, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("node discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return false, fmt.Errorf("node discovery: agent answered %s: %s", resp.Status, b)
	}
	idle := time.AfterFunc(r.opts.IdleTimeout, cancel)
	defer idle.Stop()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), r.opts.MaxLine)
	first := true
	for sc.Scan() {
		idle.Reset(r.opts.IdleTimeout)
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return got, fmt.Errorf("node discovery: bad message: %w", err)
		}
		if first && !m.Full {
			return got, errors.New("node discovery: stream did not start with a snapshot")
		}
		first, got = false, true
		r.apply(&m)
	}
	if err := sc.Err(); err != nil {
		return got, fmt.Errorf("node discovery: %w", err)
	}
	return got, errors.New("node discovery: agent closed the stream")
}

func (r *Resolver) apply(m *message) {
	if m.Full || len(m.Workloads)+len(m.Services)+len(m.RemovedWorkloads)+len(m.RemovedServices) > 0 {
		r.view.Store(r.view.Load().apply(m))
		r.updated.Store(time.Now().UnixNano())
	}
	r.heard.Store(time.Now().UnixNano())
	r.connected.Store(true)
	if m.Full {
		r.syncOnce.Do(func() { close(r.synced) })
	}
}

// View is what the resolver knows now, for /debug/config.
func (r *Resolver) View() map[string]any {
	v := r.view.Load()
	ws := make([]discovery.Workload, 0, len(v.workloads))
	for _, w := range v.workloads {
		ws = append(ws, w)
	}
	svcs := make([]wireService, 0, len(v.services))
	for _, s := range v.services {
		svcs = append(svcs, s)
	}
	return map[string]any{"version": v.version, "workloads": ws, "services": svcs}
}
