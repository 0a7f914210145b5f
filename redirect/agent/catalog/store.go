package catalog

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
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
	// The same entries by namespace: a snapshot costs what the subscriber
	// sees (plus one look at each namespace name), not the cluster.
	workloadsIn map[string]map[netip.Addr]*Workload
	servicesIn  map[string]map[string]*Service
	log         []change // oldest first, at most logSize
	logSize     int
	changed     chan struct{} // closed (and replaced) on every change
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
		workloadsIn: map[string]map[netip.Addr]*Workload{}, servicesIn: map[string]map[string]*Service{},
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
	if old != nil {
		deleteIn(s.workloadsIn, old.Namespace, ip)
	}
	if w == nil {
		delete(s.workloads, ip)
	} else {
		s.workloads[ip] = w
		putIn(s.workloadsIn, w.Namespace, ip, w)
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
	ns, _ := splitKey(name)
	if svc == nil {
		delete(s.services, name)
		deleteIn(s.servicesIn, ns, name)
	} else {
		s.services[name] = svc
		putIn(s.servicesIn, ns, name, svc)
	}
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
	for ns, ws := range s.workloadsIn {
		if visible(ns) {
			m.Workloads = slices.AppendSeq(m.Workloads, maps.Values(ws))
		}
	}
	for ns, svcs := range s.servicesIn {
		if visible(ns) {
			m.Services = slices.AppendSeq(m.Services, maps.Values(svcs))
		}
	}
	slices.SortFunc(m.Workloads, func(a, b *Workload) int { return a.IP.Compare(b.IP) })
	slices.SortFunc(m.Services, func(a, b *Service) int { return strings.Compare(a.Name, b.Name) })
}

func putIn[K comparable, V any](in map[string]map[K]V, ns string, k K, v V) {
	if in[ns] == nil {
		in[ns] = map[K]V{}
	}
	in[ns][k] = v
}

func deleteIn[K comparable, V any](in map[string]map[K]V, ns string, k K) {
	delete(in[ns], k)
	if len(in[ns]) == 0 {
		delete(in, ns)
	}
}

func (m *Message) empty() bool {
	return !m.Full && len(m.Workloads)+len(m.Services)+len(m.RemovedWorkloads)+len(m.RemovedServices) == 0
}
