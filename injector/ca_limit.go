package injector

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// identityLimiter is a token bucket per workload identity, so one pod (or one
// compromised service account) flooding the CA is refused with 429 while the
// others are served. The map is bounded: when full, buckets that have refilled
// completely (idle identities) are dropped, and if none has, the new identity
// shares a single overflow bucket rather than growing memory.
type identityLimiter struct {
	every time.Duration
	burst int
	max   int

	mu       sync.Mutex
	buckets  map[string]*rate.Limiter
	overflow *rate.Limiter
}

func newIdentityLimiter(every time.Duration, burst, maxIdentities int) *identityLimiter {
	return &identityLimiter{every: every, burst: burst, max: maxIdentities,
		buckets: make(map[string]*rate.Limiter), overflow: rate.NewLimiter(rate.Every(every), burst)}
}

// allow takes one request of id from its bucket.
func (l *identityLimiter) allow(id string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[id]
	if !ok {
		if len(l.buckets) >= l.max {
			l.dropIdle(now)
		}
		if len(l.buckets) >= l.max {
			return l.overflow.AllowN(now, 1)
		}
		b = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.buckets[id] = b
	}
	return b.AllowN(now, 1)
}

// dropIdle forgets buckets that are full again: forgetting them changes nothing.
func (l *identityLimiter) dropIdle(now time.Time) {
	for id, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, id)
		}
	}
}
