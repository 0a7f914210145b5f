package catalog

import (
	"net/netip"
	"testing"
)

// TestStoreSince: a subscriber gets a snapshot first, then only the changes of
// the namespaces it sees (and the removal of a peer that moved out of them),
// and a snapshot again once it fell behind the log.
func TestStoreSince(t *testing.T) {
	s := newStore(3)
	ip1, ip2 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	s.putWorkload(ip1, &Workload{IP: ip1, Namespace: "a", Labels: map[string]string{"org": "empire"}})
	s.putWorkload(ip2, &Workload{IP: ip2, Namespace: "b"})
	s.putService("a/deathstar", &Service{Name: "a/deathstar"})
	inA := func(ns string) bool { return ns == "a" }
	m, _ := s.since(0, inA)
	if !m.Full || len(m.Workloads) != 1 || m.Workloads[0].IP != ip1 || len(m.Services) != 1 || m.Version != 3 {
		t.Fatalf("snapshot %+v", m)
	}
	if s.putWorkload(ip1, &Workload{IP: ip1, Namespace: "a", Labels: map[string]string{"org": "empire"}}) {
		t.Error("an unchanged workload counted as a change")
	}
	s.putWorkload(ip2, &Workload{IP: ip2, Namespace: "b", Name: "x"}) // invisible to a
	if m, _ := s.since(3, inA); !m.empty() || m.Version != 4 {
		t.Errorf("change in b reached a: %+v", m)
	}
	s.putWorkload(ip1, &Workload{IP: ip1, Namespace: "b"}) // IP handed to a pod of b
	if m, _ := s.since(4, inA); len(m.RemovedWorkloads) != 1 || len(m.Workloads) != 0 {
		t.Errorf("a did not learn its peer left: %+v", m)
	}
	s.putService("a/deathstar", nil)
	s.putWorkload(ip2, nil)
	if m, _ := s.since(3, inA); !m.Full {
		t.Errorf("behind the log of 3, got a delta: %+v", m)
	}
	if m, _ := s.since(5, inA); len(m.RemovedServices) != 1 || m.Version != 7 {
		t.Errorf("service removal: %+v", m)
	}
}
