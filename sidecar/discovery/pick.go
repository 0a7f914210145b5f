package discovery

import (
	"math/rand/v2"
	"time"
)

// pick chooses among eps (len ≥ 1) by the policy; b.mu is held.
func (b *Balancer) pick(eps []Endpoint) Endpoint {
	if len(eps) == 1 {
		return eps[0]
	}
	all := func(Endpoint) bool { return true }
	if len(b.ejected) == 0 { // the usual case: no scan, no clock
		return b.choose(eps, len(eps), all)
	}
	now := time.Now()
	healthy := 0
	for _, ep := range eps {
		if b.healthy(ep, now) {
			healthy++
		}
	}
	if healthy == 0 { // panic mode: every endpoint ejected, try them all
		return b.choose(eps, len(eps), all)
	}
	return b.choose(eps, healthy, func(ep Endpoint) bool { return b.healthy(ep, now) })
}

// healthy reports whether ep is not ejected, forgetting expired ejections.
func (b *Balancer) healthy(ep Endpoint, now time.Time) bool {
	until, bad := b.ejected[ep.Addr]
	if bad && now.After(until) {
		delete(b.ejected, ep.Addr)
		return true
	}
	return !bad
}

// choose picks among the n endpoints of eps that ok accepts.
func (b *Balancer) choose(eps []Endpoint, n int, ok func(Endpoint) bool) Endpoint {
	if b.opts.Policy == RoundRobin || n == 1 {
		return nth(eps, int(b.next.Add(1)-1)%n, ok)
	}
	// Power of two choices: two distinct random candidates, fewer in flight wins
	// (the first on a tie, which is itself random).
	i := rand.N(n)
	j := rand.N(n - 1)
	if j >= i {
		j++
	}
	a, c := nth(eps, i, ok), nth(eps, j, ok)
	if b.inflight[c.Addr] < b.inflight[a.Addr] {
		return c
	}
	return a
}

// nth returns the i-th (from 0) endpoint of eps that ok accepts; the caller
// guarantees it exists. A scan keeps Pick free of allocations.
func nth(eps []Endpoint, i int, ok func(Endpoint) bool) Endpoint {
	for _, ep := range eps {
		if !ok(ep) {
			continue
		}
		if i == 0 {
			return ep
		}
		i--
	}
	return eps[0]
}
