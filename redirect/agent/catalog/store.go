package catalog

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"sync"
)

// store is the catalog's current state and a bounded log of what changed, by
// version. Entries are immutable once stored (a change stores a new pointer),
// so messages built under mu are encoded outside it.
type store struct {
	mu        sync.Mutex
	version   uint64
	workloads map[netip.Addr]*Workload
	services  map[string]*Service
	log       []change // oldest first, at most logSize
	logSize   int
	changed   chan struct{} // closed (and replaced) on every change
}

// change is one key that changed at version: a workload IP or a service name,
// with the namespaces it was and is in (a subscriber that saw the old one must
// learn of its removal).
type change struct {
	version      uint64
	ip           netip.Addr
	service      string
	oldNS, newNS string
}

func newStore(logSize int) *store {
	return &store{workloads: map[netip.Addr]*Workload{}, services: map[string]*Service{},
		logSize: logSize, changed: make(chan struct{})}
}

// putWorkload stores w at ip (nil removes it) and reports whether it changed.
func (s *store) putWorkload(ip netip.Addr, w *Workload) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.workloads[ip]
	if reflect.DeepEqual(old, w) {
		return false
	}
	if w == nil {
		delete(s.workloads, ip)
	} else {
		s.workloads[ip] = w
	}
	s.record(change{ip: ip, oldNS: nsOfWorkload(old), newNS: nsOfWorkload(w)})
	return true
}

// putService stores svc under name (nil removes it).
func (s *store) putService(name string, svc *Service) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.services[name]
	if reflect.DeepEqual(old, svc) {
		return false
	}
	if svc == nil {
		delete(s.services, name)
	} else {
		s.services[name] = svc
	}
	ns, _ := splitKey(name)
	s.record(change{service: name, oldNS: ns, newNS: ns})
	return true
}

func (s *store) record(c change) {
	s.version++
	c.version = s.version
	if len(s.log) >= s.logSize {
		s.log = slices.Delete(s.log, 0, len(s.log)-s.logSize+1)
	}
	s.log = append(s.log, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

func nsOfWorkload(w *Workload) string {
	if w == nil {
		return ""
	}
	return w.Namespace
}

// since is what a subscriber at version v that sees the namespaces visible
// accepts must receive to be at the current version: a full snapshot when v is
// 0 or older than the log, else the changes after v. It also returns the channel
// closed by the next change.
func (s *store) since(v uint64, visible func(ns string) bool) (Message, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := Message{Version: s.version}
	if v == 0 || v > s.version || len(s.log) > 0 && v < s.log[0].version-1 || len(s.log) == 0 && v != s.version {
		s.snapshot(&m, visible)
		return m, s.changed
	}
	seenIP, seenSvc := map[netip.Addr]bool{}, map[string]bool{}
	for _, c := range s.log {
		if c.version <= v || !visible(c.oldNS) && !visible(c.newNS) {
			continue
		}
		if c.service != "" && !seenSvc[c.service] {
			seenSvc[c.service] = true
			if svc := s.services[c.service]; svc != nil {
				m.Services = append(m.Services, svc)
			} else {
				m.RemovedServices = append(m.RemovedServices, c.service)
			}
		} else if c.service == "" && !seenIP[c.ip] {
			seenIP[c.ip] = true
			if w := s.workloads[c.ip]; w != nil && visible(w.Namespace) {
				m.Workloads = append(m.Workloads, w)
			} else {
				m.RemovedWorkloads = append(m.RemovedWorkloads, c.ip)
			}
		}
	}
	return m, s.changed
}

func (s *store) snapshot(m *Message, visible func(string) bool) {
	m.Full = true
	for _, ip := range slices.SortedFunc(maps.Keys(s.workloads), netip.Addr.Compare) {
		if w := s.workloads[ip]; visible(w.Namespace) {
			m.Workloads = append(m.Workloads, w)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.services)) {
		if svc := s.services[name]; visible(svc.namespace()) {
			m.Services = append(m.Services, svc)
		}
	}
}

func (m *Message) empty() bool {
	return !m.Full && len(m.Workloads)+len(m.Services)+len(m.RemovedWorkloads)+len(m.RemovedServices) == 0
}
