package inbound

import (
	"net"
	"net/netip"
	"sync"
)

// Limits bound what connections the proxy takes on, so no single peer (or a crowd
// of them) can make it hold more than a pod's memory allows. A refused connection
// is closed at once, unread, and counted in rampart_inbound_connections_refused_total.
type Limits struct {
	// MaxConnections bounds the open connections of one listener (plaintext and
	// HBONE each; the limit is checked right after accept, before any TLS
	// handshake). Default 16384: an idle plaintext keep-alive connection costs
	// about 2.5 KB on Linux, where it is parked without a goroutine, and 6 KB
	// elsewhere (a 4 KiB goroutine stack and 1.6 KB of structs;
	// BenchmarkIdleKeepAlive), so the limit is 40 to 100 MB of idle connections,
	// and a pod rarely sees more than a few hundred.
	MaxConnections int
	// MaxConnectionsPerAddress bounds the open plaintext connections of one
	// source address. Default 4096: clients behind one node address (NodePort,
	// SNAT) share it.
	MaxConnectionsPerAddress int
	// MaxConnectionsPerIdentity bounds the open HBONE connections of one peer
	// SPIFFE ID (checked after the handshake). Default 1024: a peer proxy
	// multiplexes up to MaxConcurrentStreams streams on one connection, so 1024
	// connections already carry 100 000 streams.
	MaxConnectionsPerIdentity int
	// MemoryPressure is the share of the Go runtime's memory limit (GOMEMLIMIT,
	// debug.SetMemoryLimit) above which new connections, streams and requests are
	// refused (503 over HTTP, closed otherwise) instead of letting the process grow
	// until it is OOM-killed. Usage is the live heap after the last GC plus
	// everything the runtime holds outside the heap (stacks, metadata). Without a
	// memory limit nothing is refused. Default 0.9; negative turns the check off.
	MemoryPressure float64
}

func (l *Limits) setDefaults() {
	if l.MaxConnections <= 0 {
		l.MaxConnections = 16384
	}
	if l.MaxConnectionsPerAddress <= 0 {
		l.MaxConnectionsPerAddress = 4096
	}
	if l.MaxConnectionsPerIdentity <= 0 {
		l.MaxConnectionsPerIdentity = 1024
	}
	if l.MemoryPressure == 0 {
		l.MemoryPressure = 0.9
	}
}

// Reasons a connection is refused (the reason label of the refusal counter).
const (
	refusedListener = "listener_limit"
	refusedPeer     = "peer_limit"
	refusedMemory   = "memory"
)

// peerCounter counts open connections per peer key and refuses one past max.
// Entries are removed when their count drops to zero, so the map holds only peers
// with open connections (at most the listener limit).
type peerCounter struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

func newPeerCounter(max int) *peerCounter {
	return &peerCounter{max: max, open: map[string]int{}}
}

// acquire counts one more connection of peer, or reports false when peer has max.
func (p *peerCounter) acquire(peer string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[peer] >= p.max {
		return false
	}
	p.open[peer]++
	return true
}

func (p *peerCounter) release(peer string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[peer] <= 1 {
		delete(p.open, peer)
		return
	}
	p.open[peer]--
}

// sourceKey is the per-peer key of a plaintext connection: its source address
// without the port (IPv4-mapped addresses as IPv4, so one client is one peer).
func sourceKey(c net.Conn) string {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return ap.Addr().Unmap().String()
}
