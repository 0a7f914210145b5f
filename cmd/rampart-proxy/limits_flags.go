package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/rampart-mesh/rampart/sidecar"
)

// limitsConfig holds the inbound connection limits (inbound.Limits) as flags.
type limitsConfig struct {
	maxConns, perAddress, perIdentity, pressure, streamBodies string
}

func (c *limitsConfig) register(fs *flag.FlagSet) {
	str := func(p *string, name, env, usage string) {
		fs.StringVar(p, name, envOr("", env), usage+" ($"+env+")")
	}
	str(&c.maxConns, "max-connections", "RAMPART_MAX_CONNECTIONS", "open inbound connections per listener; past it new ones are closed at once (default 16384)")
	str(&c.perAddress, "max-connections-per-address", "RAMPART_MAX_CONNECTIONS_PER_ADDRESS", "open plaintext connections per source address (default 4096)")
	str(&c.perIdentity, "max-connections-per-identity", "RAMPART_MAX_CONNECTIONS_PER_IDENTITY", "open HBONE connections per peer SPIFFE ID (default 1024)")
	str(&c.streamBodies, "stream-request-bodies", "RAMPART_STREAM_REQUEST_BODIES", "true: forward request bodies as they arrive (as Envoy) instead of reading up to 16 KiB first (as nginx and HAProxy; default false)")
	str(&c.pressure, "memory-pressure", "RAMPART_MEMORY_PRESSURE", "share of the memory limit (GOMEMLIMIT) above which new connections and requests are refused with 503 (default 0.9; negative: never)")
}

func (c *limitsConfig) apply(o *sidecar.Options) error {
	l := &o.Inbound.Tuning.Limits
	for _, f := range []struct {
		name, v string
		p       *int
	}{
		{"--max-connections / $RAMPART_MAX_CONNECTIONS", c.maxConns, &l.MaxConnections},
		{"--max-connections-per-address / $RAMPART_MAX_CONNECTIONS_PER_ADDRESS", c.perAddress, &l.MaxConnectionsPerAddress},
		{"--max-connections-per-identity / $RAMPART_MAX_CONNECTIONS_PER_IDENTITY", c.perIdentity, &l.MaxConnectionsPerIdentity},
	} {
		if f.v == "" {
			continue
		}
		n, err := strconv.Atoi(f.v)
		if err != nil || n <= 0 {
			return fmt.Errorf("%s %q: want a positive number", f.name, f.v)
		}
		*f.p = n
	}
	if c.streamBodies != "" {
		v, err := strconv.ParseBool(c.streamBodies)
		if err != nil {
			return fmt.Errorf("--stream-request-bodies / $RAMPART_STREAM_REQUEST_BODIES %q: want true or false", c.streamBodies)
		}
		o.Inbound.Tuning.StreamBodies = v
	}
	if c.pressure != "" {
		v, err := strconv.ParseFloat(c.pressure, 64)
		if err != nil || v == 0 || v > 1 {
			return fmt.Errorf("--memory-pressure / $RAMPART_MEMORY_PRESSURE %q: want a share in (0, 1], or negative for never", c.pressure)
		}
		l.MemoryPressure = v
	}
	return nil
}

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
