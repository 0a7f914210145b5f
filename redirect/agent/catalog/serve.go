package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// WatchPath is the stream's path on the socket.
const WatchPath = "/v1/watch"

// Serve answers subscribers on the unix socket at path (replacing a stale one
// left by a previous agent) until ctx ends. The socket is world-writable: who
// may read what is decided per connection from the caller's pod, not by file
// permissions (proxies run as uid 1337, the agent as root).
func (c *Catalog) Serve(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("catalog: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		_ = ln.Close()
		return fmt.Errorf("catalog: %w", err)
	}
	return c.ServeListener(ctx, ln)
}

// ServeListener serves on ln (a unix listener) until ctx ends.
func (c *Catalog) ServeListener(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+WatchPath, c.watch)
	srv := &http.Server{Handler: mux, ConnContext: connContext, ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes: 8 << 10, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(newCredListener(ln, c.opts.MaxSubscribers+64)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("catalog: %w", err)
	}
	return nil
}

// watch streams the caller's view: a snapshot, then changes, with a heartbeat
// line whenever nothing changed for Heartbeat.
func (c *Catalog) watch(w http.ResponseWriter, r *http.Request) {
	p, _ := r.Context().Value(peerKey{}).(*peer)
	if !c.Synced() {
		http.Error(w, "catalog not synced yet", http.StatusServiceUnavailable)
		return
	}
	pod, err := c.caller(p)
	if err != nil {
		c.opts.Logger.Info("catalog: caller refused", "err", err)
		http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
		return
	}
	if n := c.subscribers.Add(1); n > int64(c.opts.MaxSubscribers) {
		c.subscribers.Add(-1)
		http.Error(w, "too many subscribers", http.StatusServiceUnavailable)
		return
	}
	defer c.subscribers.Add(-1)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Rampart-Pod", pod.Namespace+"/"+pod.Name)
	if err := c.stream(r.Context(), w, c.visible(pod.Namespace)); err != nil {
		c.dropped.Add(1)
		c.opts.Logger.Info("catalog: subscriber dropped", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// caller is the pod the connecting process runs in, on this node.
func (c *Catalog) caller(p *peer) (*corev1.Pod, error) {
	if p == nil || p.err != nil || p.pid <= 0 {
		return nil, fmt.Errorf("no peer credentials: %v", p)
	}
	uid, err := c.opts.PodUIDOf(p.pid)
	if err != nil {
		return nil, err
	}
	if !p.alive() {
		return nil, fmt.Errorf("pid %d exited while identified", p.pid)
	}
	pod := c.podByUID(uid)
	if pod == nil || pod.Spec.NodeName != c.opts.Node {
		return nil, fmt.Errorf("pod %s is not a pod of node %s", uid, c.opts.Node)
	}
	return pod, nil
}

// visible is the namespace filter of a pod in ns.
func (c *Catalog) visible(ns string) func(string) bool {
	all := slices.Contains(c.opts.Namespaces, "*")
	return func(other string) bool {
		return other != "" && (all || other == ns || slices.Contains(c.opts.Namespaces, other))
	}
}

func (c *Catalog) stream(ctx context.Context, w http.ResponseWriter, visible func(string) bool) error {
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	beat := time.NewTicker(c.opts.Heartbeat)
	defer beat.Stop()
	var v uint64
	for first := true; ; first = false {
		m, changed := c.store.since(v, visible)
		if first || !m.empty() {
			if err := send(rc, enc, &m, c.opts.WriteTimeout); err != nil {
				return err
			}
			beat.Reset(c.opts.Heartbeat)
		}
		v = m.Version // changes it may not see move it on silently
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-beat.C:
			hb := Message{Version: v}
			if err := send(rc, enc, &hb, c.opts.WriteTimeout); err != nil {
				return err
			}
		}
	}
}

// send writes one line within timeout: a subscriber that does not read is
// dropped, and its changes wait in the shared, bounded log, not in a queue of its own.
func send(rc *http.ResponseController, enc *json.Encoder, m *Message, timeout time.Duration) error {
	if err := rc.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("write deadline: %w", err)
	}
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// Subscribers is the number of open streams; Dropped counts streams ended by a
// write that failed or timed out.
func (c *Catalog) Subscribers() int64 { return c.subscribers.Load() }

// Dropped counts subscribers dropped for not reading.
func (c *Catalog) Dropped() int64 { return c.dropped.Load() }
