package inbound_test

import (
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/test/support"
)

// logBuffer is a JSON log written by the server's goroutines.
type logBuffer struct{ support.Buffer }

// lines returns the records whose msg is msg.
func (l *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

func loggingMesh(t *testing.T, level slog.Level) (*mesh, *logBuffer) {
	logs := &logBuffer{}
	m := newMesh(t, "../../policies/starwars", func(o *inbound.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	})
	return m, logs
}

// TestDenialsLogAtDebug: a denial is in the decision log; the proxy's own log
// repeats it only at debug level (at production rates it would be noise).
func TestDenialsLogAtDebug(t *testing.T) {
	for _, tc := range []struct {
		level slog.Level
		lines int
	}{{slog.LevelInfo, 0}, {slog.LevelDebug, 1}} {
		m, logs := loggingMesh(t, tc.level)
		if status, _ := m.ship(t, "tiefighter", "127.0.0.2").do("PUT", "/v1/exhaust-port"); status != 403 {
			t.Fatalf("exhaust port: %d, want 403", status)
		}
		if got := len(logs.lines(t, "request denied")); got != tc.lines {
			t.Errorf("level %s: %d 'request denied' lines, want %d", tc.level, got, tc.lines)
		}
	}
}

// TestHandshakeLogNamesPeerAddress: a failed handshake is logged with the peer
// as "ip:port", not as a Go struct.
func TestHandshakeLogNamesPeerAddress(t *testing.T) {
	m, logs := loggingMesh(t, slog.LevelInfo)
	other, err := identity.NewCA(td, 0)
	if err != nil {
		t.Fatal(err)
	}
	src, err := identity.NewRotatingSource(other, workloadID(t, "tiefighter"), identity.RotatingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	c, err := tls.Dial("tcp", m.hbone, identity.ClientConfig(src, identity.AllowID(m.ds), identity.TLSOptions{}))
	if err == nil {
		c.Read(make([]byte, 1))
		c.Close()
	}
	var recs []map[string]any
	for range 100 { // the server logs after the client has given up
		if recs = logs.lines(t, "hbone handshake"); len(recs) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(recs) == 0 {
		t.Fatal("no 'hbone handshake' log line")
	}
	if peer, ok := recs[0]["peer"].(string); !ok || !strings.HasPrefix(peer, "127.0.0.1:") {
		t.Errorf("peer logged as %#v, want \"127.0.0.1:port\"", recs[0]["peer"])
	}
}
