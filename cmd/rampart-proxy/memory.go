package main

import (
	"log/slog"
	"runtime/debug"
)

// memoryLimitShare is the part of the container's memory the Go runtime aims to
// stay under: the rest is for what it does not count (thread stacks of cgo-free
// syscalls, page tables) and for the time a GC cycle takes to catch up.
const memoryLimitShare = 0.9

// setMemoryLimit sets the Go runtime's soft memory limit to 90 % of n, the
// --memory-limit setting (bytes; the injector sets $RAMPART_MEMORY_LIMIT from the
// proxy container's memory limit; 0: none), unless $GOMEMLIMIT is set (then the
// runtime already uses it; it is the runtime's variable, so it is looked up, not a
// setting). The inbound server refuses new work near that limit instead of growing
// into the container's OOM kill.
func setMemoryLimit(log *slog.Logger, n int64, lookup func(string) (string, bool)) {
	if n == 0 {
		return
	}
	if g, set := lookup("GOMEMLIMIT"); set {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", g, "RAMPART_MEMORY_LIMIT", n)
		return
	}
	limit := int64(float64(n) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set", "bytes", limit, "RAMPART_MEMORY_LIMIT", n)
}
