package node_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/discovery/node"
	"github.com/rampart-mesh/rampart/test/support"
)

// scriptedAgent stands in for rampart-node's catalog (a fake, for the client's
// reconnect logic; test/discovery_test.go runs the real one): it serves the
// lines of a file on a unix socket, then holds the stream open.
func scriptedAgent(t *testing.T, sock, file string) (stop func()) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(b)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }
}

// TestResolverKeepsLastView: the view comes from the stream; when the agent
// goes the resolver keeps answering from it, its age grows and its status says
// why; when the agent returns it reconnects by itself.
func TestResolverKeepsLastView(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	stop := scriptedAgent(t, sock, "testdata/stream.ndjson")
	r := node.New(node.Options{Socket: sock, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	r.Start(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := r.Synced(ctx); err != nil {
		t.Fatal(err)
	}
	tie := netip.MustParseAddr("198.18.0.10")
	support.EventuallyWithin(t, 2*time.Second, "delta applied", func() bool { w, _ := r.Workload(tie); return w.Labels["org"] == "alliance" })
	updated := r.LastUpdate()
	if updated.IsZero() || time.Since(updated) > 5*time.Second {
		t.Errorf("LastUpdate %s after a snapshot and a change", updated)
	}
	stop()
	_ = os.Remove(sock)
	support.EventuallyWithin(t, 2*time.Second, "disconnect seen", func() bool { c, _, err := r.Status(); return !c && err != nil })
	time.Sleep(200 * time.Millisecond)
	if w, ok := r.Workload(tie); !ok || w.Labels["org"] != "alliance" {
		t.Errorf("without the agent: %+v %v", w, ok)
	}
	if eps, ok := r.Endpoints(netip.MustParseAddrPort("10.0.0.80:80")); !ok || len(eps) != 2 {
		t.Errorf("endpoints without the agent: %+v", eps)
	}
	if age := r.Age(); age < 200*time.Millisecond {
		t.Errorf("age %s after 200ms without the agent", age)
	}
	if !r.LastUpdate().Equal(updated) {
		t.Errorf("LastUpdate moved without the agent: %s, was %s", r.LastUpdate(), updated)
	}
	stop = scriptedAgent(t, sock, "testdata/stream.ndjson")
	defer stop()
	support.EventuallyWithin(t, 3*time.Second, "reconnected", func() bool { c, _, _ := r.Status(); return c && r.Age() < 100*time.Millisecond })
	if !r.LastUpdate().After(updated) {
		t.Errorf("LastUpdate %s not moved by the new snapshot", r.LastUpdate())
	}
}

// TestResolverNoAgent: Synced fails with the reason when no agent answers.
func TestResolverNoAgent(t *testing.T) {
	r := node.New(node.Options{Socket: filepath.Join(t.TempDir(), "none.sock"), MinBackoff: 10 * time.Millisecond})
	r.Start(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := r.Synced(ctx)
	if !errors.Is(err, node.ErrNoView) || !strings.Contains(err.Error(), "no such file") || r.Age() != -1 {
		t.Errorf("Synced = %v, age %s", err, r.Age())
	}
}
