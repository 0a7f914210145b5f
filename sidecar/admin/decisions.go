package admin

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// DefaultRingBytes is the decision ring's default size: about 1 500 decisions of
// ~700 bytes (Hubble keeps 4 095 flows). Its live bytes cost about twice that in
// RSS once the GC target counts them, so it stays small by default.
const DefaultRingBytes = 1 << 20

// Defaults of the follow mode (/debug/decisions?follow=1).
const (
	// DefaultMaxFollowers is how many clients may follow at once; more get 503.
	DefaultMaxFollowers = 4
	// DefaultFollowWriteTimeout is how long one write to a follower may take
	// before the follower is dropped: a slow reader never holds the proxy.
	DefaultFollowWriteTimeout = 10 * time.Second
)

// DecisionRing keeps the latest decision-log lines in bounded memory for
// /debug/decisions (`rampart observe`): it is an io.Writer taking one whole line
// per Write, as the policy engine's decision logger writes them, and drops the
// oldest lines past its size. A line larger than the ring is dropped.
//
// With ?follow=1 the endpoint keeps the response open and streams each new
// line as it is written. A follower costs one goroutine and holds at most one
// line at a time (it reads the ring by sequence number, so lines the ring drops
// while it is slow are skipped, not queued); at most MaxFollowers follow at
// once, and each write must finish within the write timeout.
type DecisionRing struct {
	maxFollowers int
	writeTimeout time.Duration

	mu        sync.Mutex
	max       int
	size      int
	lines     [][]byte // oldest first; lines[head:] is live
	head      int
	next      uint64        // sequence number the next line written gets
	wake      chan struct{} // closed at the next Write; nil when nobody waits
	followers int
}

// RingOption configures a DecisionRing.
type RingOption func(*DecisionRing)

// WithMaxFollowers caps concurrent followers (default DefaultMaxFollowers).
func WithMaxFollowers(n int) RingOption { return func(r *DecisionRing) { r.maxFollowers = n } }

// WithFollowWriteTimeout bounds each write to a follower (default
// DefaultFollowWriteTimeout).
func WithFollowWriteTimeout(d time.Duration) RingOption {
	return func(r *DecisionRing) { r.writeTimeout = d }
}

// NewDecisionRing returns a ring holding at most maxBytes of lines
// (≤ 0: DefaultRingBytes).
func NewDecisionRing(maxBytes int, opts ...RingOption) *DecisionRing {
	if maxBytes <= 0 {
		maxBytes = DefaultRingBytes
	}
	r := &DecisionRing{max: maxBytes, maxFollowers: DefaultMaxFollowers, writeTimeout: DefaultFollowWriteTimeout}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Write stores a copy of p; it never fails, so a full ring never slows decisions.
func (r *DecisionRing) Write(p []byte) (int, error) {
	if len(p) > r.max {
		return len(p), nil
	}
	line := append([]byte(nil), p...)
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.size+len(line) > r.max {
		r.size -= len(r.lines[r.head])
		r.lines[r.head] = nil
		r.head++
	}
	if r.head > len(r.lines)/2 { // compact, so the slice does not grow forever
		r.lines = append(r.lines[:0], r.lines[r.head:]...)
		r.head = 0
	}
	r.lines = append(r.lines, line)
	r.size += len(line)
	r.next++
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
	return len(p), nil
}

// Bytes is how much the ring holds now.
func (r *DecisionRing) Bytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.size
}

// Followers is how many clients follow now.
func (r *DecisionRing) Followers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.followers
}

// ServeHTTP writes the lines held, oldest first, as JSON lines; with ?follow=1
// (or true) it then streams new lines until the client goes away.
func (r *DecisionRing) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	follow := req.URL.Query().Get("follow")
	if follow != "1" && follow != "true" {
		r.mu.Lock()
		lines := append([][]byte(nil), r.lines[r.head:]...) // the lines themselves are never modified
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-ndjson")
		for _, l := range lines {
			if _, err := w.Write(l); err != nil {
				return
			}
		}
		return
	}
	if !r.addFollower() {
		write(w, http.StatusServiceUnavailable, "too many followers of /debug/decisions\n")
		return
	}
	defer r.dropFollower()
	r.follow(req.Context(), w)
}

func (r *DecisionRing) addFollower() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.followers >= r.maxFollowers {
		return false
	}
	r.followers++
	return true
}

func (r *DecisionRing) dropFollower() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.followers--
}

// follow streams from the oldest line held, one line at a time, flushing when it
// has caught up; it returns when a write fails or times out or ctx ends.
func (r *DecisionRing) follow(ctx context.Context, w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	seq := r.oldest()
	for {
		line, next, wake := r.at(seq)
		if line == nil {
			if err := r.flush(rc); err != nil {
				return
			}
			select {
			case <-wake:
			case <-ctx.Done():
				return
			}
			continue
		}
		seq = next
		if err := rc.SetWriteDeadline(time.Now().Add(r.writeTimeout)); err != nil {
			return
		}
		if _, err := w.Write(line); err != nil {
			return
		}
	}
}

func (r *DecisionRing) flush(rc *http.ResponseController) error {
	if err := rc.SetWriteDeadline(time.Now().Add(r.writeTimeout)); err != nil {
		return err
	}
	return rc.Flush()
}

func (r *DecisionRing) oldest() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next - uint64(len(r.lines)-r.head)
}

// at returns the line numbered seq, or the oldest one after it still held, and
// the number after it; when there is none yet, a nil line and a channel closed
// at the next Write.
func (r *DecisionRing) at(seq uint64) (line []byte, next uint64, wake <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	held := uint64(len(r.lines) - r.head)
	if oldest := r.next - held; seq < oldest {
		seq = oldest // dropped while the follower was slow: skip them
	}
	if seq < r.next {
		return r.lines[r.head+int(seq-(r.next-held))], seq + 1, nil
	}
	if r.wake == nil {
		r.wake = make(chan struct{})
	}
	return nil, seq, r.wake
}
