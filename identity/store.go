package identity

import (
	"errors"
	"fmt"
	"sync"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// ErrNoSVID means a source has no SVID (yet, or any more): handshakes fail closed.
var ErrNoSVID = errors.New("no X.509 SVID available")

// store holds the current SVID and bundle of a source behind one lock and tells
// waiters when they change. Readers never see an SVID without its bundle.
type store struct {
	mu      sync.RWMutex
	svid    *x509svid.SVID
	bundle  *x509bundle.Bundle
	changed chan struct{}
	metrics *Metrics
	kind    string
}

func newStore(kind string, m *Metrics) *store {
	return &store{changed: make(chan struct{}), metrics: m, kind: kind}
}

// set installs a new SVID and bundle, counts a rotation when it replaces an earlier
// SVID, and wakes everyone waiting on Changed.
func (s *store) set(svid *x509svid.SVID, bundle *x509bundle.Bundle) {
	s.mu.Lock()
	rotated := s.svid != nil
	s.svid, s.bundle = svid, bundle
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.metrics.svidUpdated(s.kind, svid, rotated)
}

func (s *store) GetX509SVID() (*x509svid.SVID, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.svid == nil {
		return nil, ErrNoSVID
	}
	return s.svid, nil
}

func (s *store) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.bundle == nil || s.bundle.TrustDomain() != td {
		return nil, fmt.Errorf("%w: no bundle for trust domain %q", ErrWrongTrustDomain, td)
	}
	return s.bundle, nil
}

// Changed returns a channel closed at the next SVID or bundle change.
func (s *store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}
