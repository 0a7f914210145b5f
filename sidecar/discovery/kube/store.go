package kube

import (
	"net/netip"
	"slices"
	"sync"
)

// multiIndex maps an index value to the keys of the objects that have it
// (usually one; two while a pod IP or service is handed over).
type multiIndex[K comparable] map[K][]string

func (m multiIndex[K]) add(k K, key string) {
	if !slices.Contains(m[k], key) {
		m[k] = append(m[k], key)
	}
}

func (m multiIndex[K]) remove(k K, key string) {
	keys := slices.DeleteFunc(m[k], func(s string) bool { return s == key })
	if len(keys) == 0 {
		delete(m, k)
		return
	}
	m[k] = keys
}

// store holds the trimmed objects and the indexes lookups use. Lookups take the
// read lock; watch events the write lock.
type store struct {
	mu          sync.RWMutex
	pods        map[string]*pod
	podsByIP    multiIndex[netip.Addr]
	services    map[string]*service
	servicesBy  multiIndex[netip.Addr]
	slices      map[string]*slice
	slicesBySvc multiIndex[string]
}

func newStore() *store {
	return &store{pods: map[string]*pod{}, podsByIP: multiIndex[netip.Addr]{},
		services: map[string]*service{}, servicesBy: multiIndex[netip.Addr]{},
		slices: map[string]*slice{}, slicesBySvc: multiIndex[string]{}}
}

// set adds or replaces obj.
func (s *store) set(obj object) {
	key, _ := obj.ident()
	s.del(obj)
	switch o := obj.(type) {
	case *pod:
		s.pods[key] = o
		for _, ip := range o.ips {
			s.podsByIP.add(ip, key)
		}
	case *service:
		s.services[key] = o
		for _, ip := range o.vips {
			s.servicesBy.add(ip, key)
		}
	case *slice:
		s.slices[key] = o
		if o.service != "" {
			s.slicesBySvc.add(o.service, key)
		}
	}
}

// del removes the object with obj's key and kind (its stored version, whose
// index entries may differ from obj's).
func (s *store) del(obj object) {
	key, _ := obj.ident()
	switch obj.(type) {
	case *pod:
		if old := s.pods[key]; old != nil {
			for _, ip := range old.ips {
				s.podsByIP.remove(ip, key)
			}
		}
		delete(s.pods, key)
	case *service:
		if old := s.services[key]; old != nil {
			for _, ip := range old.vips {
				s.servicesBy.remove(ip, key)
			}
		}
		delete(s.services, key)
	case *slice:
		if old := s.slices[key]; old != nil && old.service != "" {
			s.slicesBySvc.remove(old.service, key)
		}
		delete(s.slices, key)
	}
}

// replace swaps every object of sample's kind for objs (after a relist).
func (s *store) replace(sample object, objs []object) {
	switch sample.(type) {
	case *pod:
		s.pods, s.podsByIP = map[string]*pod{}, multiIndex[netip.Addr]{}
	case *service:
		s.services, s.servicesBy = map[string]*service{}, multiIndex[netip.Addr]{}
	case *slice:
		s.slices, s.slicesBySvc = map[string]*slice{}, multiIndex[string]{}
	}
	for _, o := range objs {
		s.set(o)
	}
}
