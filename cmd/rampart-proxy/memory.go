package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
)

// memoryLimitShare is the part of the container's memory the Go runtime aims to
// stay under: the rest is for what it does not count (thread stacks of cgo-free
// syscalls, page tables) and for the time a GC cycle takes to catch up.
const memoryLimitShare = 0.9

// setMemoryLimit sets the Go runtime's soft memory limit to 90 % of
// $RAMPART_MEMORY_LIMIT (bytes; the injector sets it from the proxy container's
// memory limit), unless $GOMEMLIMIT is set (then the runtime already uses it). The
// inbound server refuses new work near that limit instead of growing into the
// container's OOM kill.
func setMemoryLimit(log *slog.Logger) error {
	v, ok := os.LookupEnv("RAMPART_MEMORY_LIMIT")
	if !ok || v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("$RAMPART_MEMORY_LIMIT %q: want a positive number of bytes", v)
	}
	if g, set := os.LookupEnv("GOMEMLIMIT"); set {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", g, "RAMPART_MEMORY_LIMIT", n)
		return nil
	}
	limit := int64(float64(n) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set", "bytes", limit, "RAMPART_MEMORY_LIMIT", n)
	return nil
}
