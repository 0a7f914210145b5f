package discovery

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Policy says how a Balancer spreads connections over a service's endpoints.
type Policy int

const (
	// LeastRequests picks two endpoints at random and takes the one with fewer
	// connections in flight (power of two choices, Envoy's LEAST_REQUEST, the
	// default of Istio and, with latency weighting, Linkerd): a slow endpoint
	// holds its connections longer and so gets fewer new ones. Counting needs
	// Acquire; with Pick alone it is a random choice.
	LeastRequests Policy = iota
	// RoundRobin takes the endpoints in turn.
	RoundRobin
)

// ParsePolicy reads "least-requests" (also the default for "") or "round-robin".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "", "least-requests":
		return LeastRequests, nil
	case "round-robin":
		return RoundRobin, nil
	}
	return 0, fmt.Errorf("balancing policy %q: want least-requests or round-robin", s)
}

func (p Policy) String() string {
	if p == RoundRobin {
		return "round-robin"
	}
	return "least-requests"
}

// BalancerOptions configure a Balancer.
type BalancerOptions struct {
	// Policy picks among the endpoints that are not ejected. Default LeastRequests.
	Policy Policy
	// EjectFor is how long an endpoint reported failed is skipped. Default 30s.
	EjectFor time.Duration
}

// Balancer picks one endpoint per connect. An endpoint reported failed is skipped
// for EjectFor; if every endpoint is ejected the balancer tries them anyway (as
// Envoy's panic mode does), because refusing all traffic is worse than retrying a
// maybe-recovered pod. It is safe for concurrent use.
type Balancer struct {
	opts     BalancerOptions
	next     atomic.Uint32
	mu       sync.Mutex
	ejected  map[netip.AddrPort]time.Time // until when
	inflight map[netip.AddrPort]int       // connections acquired and not released
}

// NewBalancer returns a round-robin Balancer that ejects failed endpoints for
// ejectFor (30s when zero); NewBalancerWith chooses the policy.
func NewBalancer(ejectFor time.Duration) *Balancer {
	return NewBalancerWith(BalancerOptions{Policy: RoundRobin, EjectFor: ejectFor})
}

// NewBalancerWith returns a Balancer configured by opts.
func NewBalancerWith(opts BalancerOptions) *Balancer {
	if opts.EjectFor <= 0 {
		opts.EjectFor = 30 * time.Second
	}
	return &Balancer{opts: opts, ejected: map[netip.AddrPort]time.Time{},
		inflight: map[netip.AddrPort]int{}}
}

// Pick returns one of eps without counting a connection, or ErrNoEndpoints when
// eps is empty.
func (b *Balancer) Pick(eps []Endpoint) (Endpoint, error) {
	if len(eps) == 0 {
		return Endpoint{}, ErrNoEndpoints
	}
	if len(eps) == 1 {
		return eps[0], nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pick(eps), nil
}

// Acquire picks like Pick and counts a connection to the endpoint in flight
// until release is called (once; later calls do nothing). LeastRequests balances
// on these counts.
func (b *Balancer) Acquire(eps []Endpoint) (ep Endpoint, release func(), err error) {
	if len(eps) == 0 {
		return Endpoint{}, func() {}, ErrNoEndpoints
	}
	b.mu.Lock()
	ep = b.pick(eps)
	b.inflight[ep.Addr]++
	b.mu.Unlock()
	r := &releaser{b: b, addr: ep.Addr}
	return ep, r.release, nil
}

// releaser ends one acquired connection, once.
type releaser struct {
	b    *Balancer
	addr netip.AddrPort
	done atomic.Bool
}

func (r *releaser) release() {
	if r.done.CompareAndSwap(false, true) {
		r.b.done(r.addr)
	}
}

func (b *Balancer) done(addr netip.AddrPort) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inflight[addr] <= 1 {
		delete(b.inflight, addr) // the map holds only endpoints in use
		return
	}
	b.inflight[addr]--
}

// InFlight returns how many acquired connections to addr are not yet released.
func (b *Balancer) InFlight(addr netip.AddrPort) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inflight[addr]
}

// Fail ejects addr from balancing for the ejection period.
func (b *Balancer) Fail(addr netip.AddrPort) {
	b.mu.Lock()
	b.ejected[addr] = time.Now().Add(b.opts.EjectFor)
	b.mu.Unlock()
}

// Ejected reports whether addr is currently ejected.
func (b *Balancer) Ejected(addr netip.AddrPort) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, bad := b.ejected[addr]
	return bad && time.Now().Before(until)
}
