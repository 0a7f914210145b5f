package main

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// scale bounds what each attack may do (count, not just time).
type scale struct {
	idleConns   int // idle keep-alive connections
	slowConns   int // slowloris / slow body connections
	floodFrames int // frames per flooding connection
	floodConns  int // connections a flood may open one after another
	streamConns int // connections for the many-stream attacks
	streams     int // streams per connection, at most the server's limit
}

// fullScale is the side-by-side run; the CI test uses a smaller one.
func fullScale() scale {
	return scale{idleConns: 10000, slowConns: 1000, floodFrames: 2_000_000, floodConns: 200,
		streamConns: 8, streams: 100}
}

// attack is one named attack; run must return by ctx's deadline.
type attack struct {
	name   string
	family string // h1, h2c or hbone: which listener and which legitimate client
	run    func(ctx context.Context, a *attackEnv) outcome
}

// attackEnv is what an attack gets: its target, the shared env, its scale and
// the duration of the attack proper (setup such as opening connections is
// extra, bounded by ctx).
type attackEnv struct {
	t *target
	e *env
	s scale
	d time.Duration
}

// outcome is what an attack itself observed.
type outcome struct {
	note         string  // for the table
	closedBy     string  // floods: how the server ended the first flooding connection ("" = open)
	bytesPerConn float64 // idle: RSS growth per connection beyond the first
	err          error
}

// attacks lists every attack in the order the suite runs them.
func attacks() []attack {
	return []attack{
		{"idle-keepalive", "h1", idleKeepAlive},
		{"slowloris", "h1", slowloris},
		{"slow-body", "h1", slowBody},
		{"huge-headers", "h1", hugeHeaders},
		{"pipelined-1000", "h1", pipelined},
		{"chunk-abuse", "h1", chunkAbuse},
		{"h2-settings-flood", "h2c", h2SettingsFlood},
		{"h2-ping-flood", "h2c", h2PingFlood},
		{"h2-rapid-reset", "h2c", h2RapidReset},
		{"h2-continuation-flood", "h2c", h2ContinuationFlood},
		{"h2-hpack-bomb", "h2c", h2HPACKBomb},
		{"h2-empty-data", "h2c", h2EmptyData},
		{"h2-priority-flood", "h2c", h2PriorityFlood},
		{"h2-zero-window", "h2c", h2ZeroWindow},
		{"h2-data-dribble", "h2c", h2DataDribble},
		{"h2-stream-limit", "h2c", h2StreamLimit},
		{"hbone-ping-flood", "hbone", hbonePingFlood},
		{"hbone-settings-flood", "hbone", hboneSettingsFlood},
		{"hbone-unread-uploads", "hbone", hboneUnreadUploads},
	}
}

// window is the attack proper: d from now, within ctx.
func (a *attackEnv) window(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.d)
}

// dial connects to addr for an attack. Attack connections close with a reset
// (SO_LINGER 0): tens of thousands of them per run would otherwise sit in
// TIME_WAIT and use up loopback's ephemeral ports for the next attacks. Linux
// sometimes fails a loopback connect at once with ETIMEDOUT when connections to
// the same port come and go by the thousand; such a failure is ours, not the
// target's, so dial tries again, up to ten times.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 3 * time.Second}
	var c net.Conn
	var err error
	for range 10 {
		if c, err = d.DialContext(ctx, "tcp", addr); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return c, nil
}

// tally counts outcomes by name, safe for concurrent use.
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

func (t *tally) add(k string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]int{}
	}
	t.m[k]++
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(t.m)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, t.m[k]))
	}
	return strings.Join(parts, " ")
}
