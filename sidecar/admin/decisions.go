package admin

import (
	"net/http"
	"sync"
)

// DefaultRingBytes is the decision ring's default size: about 1 500 decisions of
// ~700 bytes (Hubble keeps 4 095 flows). Its live bytes cost about twice that in
// RSS once the GC target counts them, so it stays small by default.
const DefaultRingBytes = 1 << 20

// DecisionRing keeps the latest decision-log lines in bounded memory for
// /debug/decisions (`rampart observe --admin`): it is an io.Writer taking one
// whole line per Write, as the policy engine's decision logger writes them, and
// drops the oldest lines past its size. A line larger than the ring is dropped.
type DecisionRing struct {
	mu    sync.Mutex
	max   int
	size  int
	lines [][]byte // oldest first; lines[head:] is live
	head  int
}

// NewDecisionRing returns a ring holding at most maxBytes of lines
// (≤ 0: DefaultRingBytes).
func NewDecisionRing(maxBytes int) *DecisionRing {
	if maxBytes <= 0 {
		maxBytes = DefaultRingBytes
	}
	return &DecisionRing{max: maxBytes}
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
	return len(p), nil
}

// Bytes is how much the ring holds now.
func (r *DecisionRing) Bytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.size
}

// ServeHTTP writes the lines held, oldest first, as JSON lines.
func (r *DecisionRing) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	lines := append([][]byte(nil), r.lines[r.head:]...) // the lines themselves are never modified
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-ndjson")
	for _, l := range lines {
		if _, err := w.Write(l); err != nil {
			return
		}
	}
}
