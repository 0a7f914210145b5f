package inbound

import (
	"math"
	rtmetrics "runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// memorySampleEvery is how long one reading of the runtime's memory counters is
// trusted. Reading them costs a few microseconds; refusing work a few milliseconds
// late costs nothing that matters next to a GC cycle near the limit.
const memorySampleEvery = 5 * time.Millisecond

// memoryGuard tells whether the process is near its memory limit. The reading is
// shared by every caller and refreshed by one of them at most every
// memorySampleEvery, so admit costs a clock read and two atomic loads.
type memoryGuard struct {
	share   float64 // of the memory limit, above which work is refused
	epoch   time.Time
	next    atomic.Int64 // when (ns after epoch) the reading expires
	pressed atomic.Bool

	mu      sync.Mutex // held by the one goroutine taking a reading
	samples []rtmetrics.Sample
}

// newMemoryGuard returns nil (never pressed) when share is negative.
func newMemoryGuard(share float64) *memoryGuard {
	if share < 0 {
		return nil
	}
	g := &memoryGuard{share: share, epoch: time.Now()}
	// Usage is the live heap plus everything the runtime holds outside the heap.
	// Mapped heap memory that is free or garbage is not counted: the GC returns it
	// as the limit nears, so counting it would refuse work whenever the heap
	// merely had not been collected yet.
	for _, name := range []string{
		"/gc/gomemlimit:bytes",
		"/gc/heap/live:bytes",
		"/memory/classes/total:bytes",
		"/memory/classes/heap/released:bytes",
		"/memory/classes/heap/free:bytes",
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/unused:bytes",
	} {
		g.samples = append(g.samples, rtmetrics.Sample{Name: name})
	}
	return g
}

// admit reports whether new work may start: false while usage is above the share
// of the memory limit.
func (g *memoryGuard) admit() bool {
	if g == nil {
		return true
	}
	now := int64(time.Since(g.epoch))
	if now >= g.next.Load() && g.mu.TryLock() {
		g.pressed.Store(g.over())
		g.next.Store(now + int64(memorySampleEvery))
		g.mu.Unlock()
	}
	return !g.pressed.Load()
}

// over takes a reading; g.mu is held.
func (g *memoryGuard) over() bool {
	rtmetrics.Read(g.samples)
	v := func(i int) uint64 {
		if g.samples[i].Value.Kind() != rtmetrics.KindUint64 {
			return 0
		}
		return g.samples[i].Value.Uint64()
	}
	limit := v(0)
	if limit == 0 || limit >= math.MaxInt64 {
		return false // no limit set
	}
	heap := v(3) + v(4) + v(5) + v(6)
	var outside uint64
	if total := v(2); total > heap {
		outside = total - heap
	}
	return float64(v(1)+outside) > g.share*float64(limit)
}
