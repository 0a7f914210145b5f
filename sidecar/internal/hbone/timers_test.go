package hbone_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// The tests of this file wait on hbone's timers (idle timeout, pings). They run
// in synctest bubbles over net.Pipe, whose blocking is the bubble's: the fake
// clock jumps to the next timer once every goroutine waits, so they check the
// exact moment a timer fires, without sleeping. Tests over TCP or TLS cannot (a
// goroutine blocked in a socket read never lets the fake clock move), nor can
// those of write deadlines, which need the kernel's buffering (TestWriteAfterIdle).

// pipeClient is a client connection with cfg over net.Pipe to hbone.Serve running
// handle, both ended when the test ends.
func pipeClient(t *testing.T, cfg hbone.Config, handle func(*hbone.Stream)) *hbone.Conn {
	t.Helper()
	pipe, srv := net.Pipe()
	cli := queued(pipe)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); hbone.Serve(ctx, srv, hbone.Config{}, handle) }()
	c, err := hbone.Client(cli, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); cancel(); srv.Close(); <-served })
	return c
}

// queued makes writes to c return at once, sent on by a goroutine in order:
// both ends of an HTTP/2 connection write their SETTINGS before reading, which
// a kernel socket buffers and net.Pipe does not.
func queued(c net.Conn) net.Conn {
	q := &queuedConn{Conn: c, q: make(chan []byte, 1024)}
	go func() {
		for b := range q.q {
			if _, err := c.Write(b); err != nil {
				c.Close()
			}
		}
	}()
	return q
}

type queuedConn struct {
	net.Conn
	mu     sync.Mutex
	q      chan []byte
	closed bool
}

func (q *queuedConn) Write(b []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, net.ErrClosed
	}
	q.q <- bytes.Clone(b)
	return len(b), nil
}

func (q *queuedConn) Close() error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.q)
	}
	q.mu.Unlock()
	return q.Conn.Close()
}

func closed(c *hbone.Conn) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// TestIdleTimeout: a client connection without streams starts closing (GOAWAY)
// exactly when IdleTimeout has passed, not before, and is closed within the
// second its drain allows.
func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := pipeClient(t, hbone.Config{IdleTimeout: 100 * time.Millisecond}, echo)
		time.Sleep(99 * time.Millisecond)
		synctest.Wait()
		if c.Closing() || closed(c) {
			t.Fatal("closing before its idle timeout")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if !c.Closing() {
			t.Fatal("not closing just after its idle timeout")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !closed(c) {
			t.Error("still open a second after its GOAWAY")
		}
	})
}

// TestPing: a peer that answers pings keeps a quiet connection open; one that
// reads everything but never answers has it closed, naming the unanswered ping,
// within PingInterval + PingTimeout of its last frame (one more interval when
// the first check sees the peer's SETTINGS).
func TestPing(t *testing.T) {
	cfg := hbone.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}
	synctest.Test(t, func(t *testing.T) {
		c := pipeClient(t, cfg, echo)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if closed(c) {
			t.Errorf("a connection whose peer answers pings closed: %v", c.Err())
		}
	})
	synctest.Test(t, func(t *testing.T) {
		cli, srv := net.Pipe()
		defer srv.Close()
		go io.Copy(io.Discard, srv) // reads the preface and every frame, answers nothing
		go http2.NewFramer(srv, nil).WriteSettings()
		c, err := hbone.Client(cli, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		if closed(c) {
			t.Fatalf("closed before its ping could time out: %v", c.Err())
		}
		time.Sleep(151 * time.Millisecond)
		synctest.Wait()
		if !closed(c) {
			t.Fatal("open 300 ms after the peer's last frame, its ping unanswered")
		}
		if err := c.Err(); err == nil || !strings.Contains(err.Error(), "ping not answered") {
			t.Errorf("closed with %v, want the unanswered ping", err)
		}
	})
}
