package identity

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// DefaultTrustDomain is the trust domain used when none is configured.
const DefaultTrustDomain = "cluster.local"

// ErrInvalidID marks a SPIFFE ID that does not follow spiffe://<td>/ns/<ns>/sa/<sa>.
var ErrInvalidID = errors.New("invalid workload SPIFFE ID")

// Workload names a Kubernetes workload identity: a service account in a namespace of a
// trust domain. Its SPIFFE ID is spiffe://<td>/ns/<ns>/sa/<sa>.
type Workload struct {
	TrustDomain    spiffeid.TrustDomain
	Namespace      string
	ServiceAccount string
}

// NewWorkloadID formats and validates the SPIFFE ID of service account sa in namespace ns.
func NewWorkloadID(td spiffeid.TrustDomain, ns, sa string) (spiffeid.ID, error) {
	w := Workload{TrustDomain: td, Namespace: ns, ServiceAccount: sa}
	if err := w.validate(); err != nil {
		return spiffeid.ID{}, err
	}
	return spiffeid.FromSegments(td, "ns", ns, "sa", sa)
}

// ParseWorkloadID parses s and requires it to be a workload ID of trust domain td.
// Look-alikes are rejected: another trust domain, extra or missing segments, empty
// names, percent-encoding, upper case, and dots that are not part of a valid name.
func ParseWorkloadID(td spiffeid.TrustDomain, s string) (Workload, error) {
	if td.IsZero() {
		return Workload{}, fmt.Errorf("%w: no trust domain to check %q against", ErrInvalidID, s)
	}
	id, err := spiffeid.FromString(s)
	if err != nil {
		return Workload{}, fmt.Errorf("%w: %q: %v", ErrInvalidID, s, err)
	}
	if id.TrustDomain() != td {
		return Workload{}, fmt.Errorf("%w: %q is in trust domain %q, want %q", ErrInvalidID, s, id.TrustDomain(), td)
	}
	return WorkloadOf(id)
}

// WorkloadOf splits a verified SPIFFE ID (for example from PeerID) into its parts.
func WorkloadOf(id spiffeid.ID) (Workload, error) {
	if id.IsZero() {
		return Workload{}, fmt.Errorf("%w: empty ID", ErrInvalidID)
	}
	seg := strings.Split(id.Path(), "/")
	// A valid path is "/ns/<ns>/sa/<sa>": a leading empty segment then four.
	if len(seg) != 5 || seg[0] != "" || seg[1] != "ns" || seg[3] != "sa" {
		return Workload{}, fmt.Errorf("%w: %q: path must be /ns/<namespace>/sa/<service-account>", ErrInvalidID, id)
	}
	w := Workload{TrustDomain: id.TrustDomain(), Namespace: seg[2], ServiceAccount: seg[4]}
	if err := w.validate(); err != nil {
		return Workload{}, err
	}
	return w, nil
}

// ID returns the workload's SPIFFE ID; w must be valid (from NewWorkloadID/ParseWorkloadID).
func (w Workload) ID() spiffeid.ID {
	id, err := spiffeid.FromSegments(w.TrustDomain, "ns", w.Namespace, "sa", w.ServiceAccount)
	if err != nil {
		return spiffeid.ID{}
	}
	return id
}

// String returns the SPIFFE ID as a string.
func (w Workload) String() string { return w.ID().String() }

func (w Workload) validate() error {
	if w.TrustDomain.IsZero() {
		return fmt.Errorf("%w: empty trust domain", ErrInvalidID)
	}
	if !isDNSLabel(w.Namespace) {
		return fmt.Errorf("%w: namespace %q is not a DNS-1123 label", ErrInvalidID, w.Namespace)
	}
	if !isDNSSubdomain(w.ServiceAccount) {
		return fmt.Errorf("%w: service account %q is not a DNS-1123 subdomain", ErrInvalidID, w.ServiceAccount)
	}
	return nil
}

// isDNSLabel reports whether s is a Kubernetes namespace name: 1-63 of [a-z0-9-],
// starting and ending alphanumeric.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isDNSSubdomain reports whether s is a Kubernetes service account name: up to 253
// characters of dot-separated DNS labels, so a dot is only ever a literal separator.
func isDNSSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !isDNSLabel(label) {
			return false
		}
	}
	return true
}
