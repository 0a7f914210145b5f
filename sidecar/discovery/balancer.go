package discovery

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Balancer picks one endpoint per connect, round robin over the endpoints that
// are not ejected. An endpoint reported failed is skipped for EjectFor; if every
// endpoint is ejected the balancer tries them anyway (as Envoy's panic mode does),
// because refusing all traffic is worse than retrying a maybe-recovered pod.
type Balancer struct {
	ejectFor time.Duration
	now      func() time.Time
	next     atomic.Uint32
	mu       sync.Mutex
	ejected  map[netip.AddrPort]time.Time // until when
}

// NewBalancer returns a Balancer that ejects failed endpoints for ejectFor
// (30s when zero).
func NewBalancer(ejectFor time.Duration) *Balancer {
	if ejectFor <= 0 {
		ejectFor = 30 * time.Second
	}
	return &Balancer{ejectFor: ejectFor, now: time.Now, ejected: map[netip.AddrPort]time.Time{}}
}

// Pick returns one of eps, or ErrNoEndpoints when eps is empty.
func (b *Balancer) Pick(eps []Endpoint) (Endpoint, error) {
	if len(eps) == 0 {
		return Endpoint{}, ErrNoEndpoints
	}
	start := int(b.next.Add(1) - 1)
	if len(eps) == 1 {
		return eps[0], nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for i := range eps {
		ep := eps[(start+i)%len(eps)]
		if until, bad := b.ejected[ep.Addr]; !bad || now.After(until) {
			delete(b.ejected, ep.Addr)
			return ep, nil
		}
	}
	return eps[start%len(eps)], nil
}

// Fail ejects addr from balancing for the ejection period.
func (b *Balancer) Fail(addr netip.AddrPort) {
	b.mu.Lock()
	b.ejected[addr] = b.now().Add(b.ejectFor)
	b.mu.Unlock()
}

// Ejected reports whether addr is currently ejected.
func (b *Balancer) Ejected(addr netip.AddrPort) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, bad := b.ejected[addr]
	return bad && b.now().Before(until)
}
