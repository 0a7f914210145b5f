package main

import (
	"slices"
	"testing"
	"time"
)

// ciScale is the reduced run of TestDoSBounds: every bound it checks scales
// with neither time nor machine speed. 4000 idle connections stay below the
// per-address limit (4096) and make the fixed costs of the burst small per
// connection, as the goal (10 000 connections) assumes.
func ciScale() scale {
	return scale{idleConns: 4000, slowConns: 200, floodFrames: 500_000, floodConns: 20, streamConns: 4, streams: 100}
}

// ciAttacks are the attacks TestDoSBounds runs, and whether the server must end
// the flooding connection (GOAWAY or close) rather than serve it for ever.
func ciAttacks() map[string]bool {
	return map[string]bool{
		"idle-keepalive":        false,
		"slowloris":             false,
		"h2-settings-flood":     true,
		"h2-ping-flood":         true,
		"h2-rapid-reset":        true,
		"h2-continuation-flood": true,
		"h2-empty-data":         true,
		"h2-priority-flood":     true,
		"h2-zero-window":        false,
		"h2-data-dribble":       false,
		"hbone-ping-flood":      true,
		"hbone-settings-flood":  true,
		"hbone-unread-uploads":  false,
	}
}

// Goals from issue 12, asserted where they do not depend on timing.
const (
	maxGrowthMB     = 64   // RSS above idle under any single attack
	maxBytesPerConn = 4096 // per idle keep-alive connection beyond the first
)

// TestDoSBounds runs a reduced set of attacks against rampart-proxy (built from
// this tree) and checks memory, goroutines, connection closing, denied requests
// and leftover processes, never latency.
func TestDoSBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rampart-proxy and attacks it for about a minute")
	}
	c := config{targets: []string{"rampart"}, scale: ciScale(), logLevel: "error"}
	e, cleanup, err := newEnv(c)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	ci := ciAttacks()
	for _, at := range attacks() {
		mustClose, ok := ci[at.name]
		if !ok {
			continue
		}
		t.Run(at.name, func(t *testing.T) {
			r := runOne(e, "rampart", at, c.scale, 2*time.Second, 20)
			t.Log(r.summary())
			checkBounds(t, r, mustClose)
		})
	}
}

func checkBounds(t *testing.T, r result, mustClose bool) {
	t.Helper()
	if r.Err != "" {
		t.Errorf("attack failed: %s", r.Err)
	}
	if !r.Alive {
		t.Errorf("proxy died")
	}
	if r.DeniedReached != 0 {
		t.Errorf("%d denied requests reached the app", r.DeniedReached)
	}
	if g := r.RSSPeakMB - r.RSSIdleMB; g > maxGrowthMB {
		t.Errorf("RSS grew %.1f MB above idle (%.1f → %.1f), want ≤ %d", g, r.RSSIdleMB, r.RSSPeakMB, maxGrowthMB)
	}
	if r.Attack == "idle-keepalive" && r.BytesPerConn > maxBytesPerConn {
		t.Errorf("idle connections cost %.0f bytes each, want ≤ %d", r.BytesPerConn, maxBytesPerConn)
	}
	if mustClose && r.ClosedBy == "" {
		t.Errorf("the flooding connection was kept open (%s), want GOAWAY ENHANCE_YOUR_CALM or a close", r.Note)
	}
	if r.GoroutinesIdle < 0 || r.GoroutinesAfter < 0 {
		t.Errorf("goroutines not readable from /metrics (%d → %d)", r.GoroutinesIdle, r.GoroutinesAfter)
	} else if r.GoroutinesAfter > r.GoroutinesIdle+goroutineSlack {
		t.Errorf("goroutines %d after the attack, idle %d: not back within %d", r.GoroutinesAfter, r.GoroutinesIdle, goroutineSlack)
	}
	if r.Leaked != "" {
		t.Errorf("leaked: %s", r.Leaked)
	}
	if !slices.Contains([]string{"", "kept open"}, r.ClosedBy) && !mustClose {
		t.Logf("the server ended the attack's connection: %s", r.ClosedBy)
	}
}
