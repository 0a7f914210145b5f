package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Idle release: once a busy proxy goes quiet, its heap, pools and code pages
// go back to the kernel at once rather than over the minutes the runtime's
// background scavenger takes (measured: 18–23 MB idle after load against 6.6 MB
// cold, test/bench). Busy means it allocated idleBusyBytes since the last release
// (a client proxy allocates little per request: 1 MiB is a few seconds of load);
// quiet means less than idleQuietBytes in one idleTick. The cost is one forced GC
// (~1-5 ms of CPU) and the page faults of the first requests after the lull
// (code pages fault back in, 64 KiB around each fault).
const (
	idleTick       = 2 * time.Second
	idleQuietBytes = 256 << 10
	idleBusyBytes  = 1 << 20
)

// releaseIdleMemory runs until ctx ends; --release-startup-memory=false turns it
// off with the start-up release (see run).
func releaseIdleMemory(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(idleTick)
	defer t.Stop()
	var w idleWatch
	w.last, w.released = allocatedBytes(), allocatedBytes()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if w.step(allocatedBytes()) {
			debug.FreeOSMemory()
			kb, err := dropCleanMappings()
			if log != nil {
				log.Debug("released idle memory", "unmapped_kb", kb, "err", err)
			}
		}
	}
}

// idleWatch decides, from the cumulative bytes allocated at each tick, when a
// busy stretch has just ended.
type idleWatch struct{ last, released uint64 }

// step takes the count at this tick and reports whether to release now.
func (w *idleWatch) step(now uint64) bool {
	quiet := now-w.last < idleQuietBytes
	w.last = now
	if quiet && now-w.released >= idleBusyBytes {
		w.released = now
		return true
	}
	return false
}

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// allocatedBytes is the heap bytes allocated since start (cumulative).
func allocatedBytes() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}
