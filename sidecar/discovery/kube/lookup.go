package kube

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// Index functions of the informers' caches (over the trimmed objects).

func podIPs(obj any) ([]string, error) {
	p, ok := obj.(*pod)
	if !ok {
		return nil, nil
	}
	return addrStrings(p.ips), nil
}

func serviceVIPs(obj any) ([]string, error) {
	s, ok := obj.(*service)
	if !ok {
		return nil, nil
	}
	return addrStrings(s.vips), nil
}

func sliceService(obj any) ([]string, error) {
	if s, ok := obj.(*slice); ok && s.service != "" {
		return []string{s.service}, nil
	}
	return nil, nil
}

func addrStrings(ips []netip.Addr) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

// byIndex returns the cached objects of kd with an index value, in key order
// (an index is a set: without sorting, results would change order from call
// to call).
func byIndex[T interface{ key() string }](kd *kind, index, value string) []T {
	objs, _ := kd.informer.GetIndexer().ByIndex(index, value)
	out := make([]T, 0, len(objs))
	for _, obj := range objs {
		if t, ok := obj.(T); ok {
			out = append(out, t)
		}
	}
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b T) int { return strings.Compare(a.key(), b.key()) })
	}
	return out
}

// Workload implements discovery.Resolver.
func (k *Resolver) Workload(ip netip.Addr) (discovery.Workload, bool) {
	ip = ip.Unmap()
	// Two pods hold an IP while it is handed over: the newer one has it (the
	// greater key on a tie, so that the answer does not depend on map order).
	objs, _ := k.pods.informer.GetIndexer().ByIndex(byIP, ip.String())
	var newest *pod
	for _, obj := range objs {
		p, ok := obj.(*pod)
		if ok && (newest == nil || p.created > newest.created || p.created == newest.created && p.key() > newest.key()) {
			newest = p
		}
	}
	if newest == nil {
		return discovery.Workload{}, false
	}
	w := newest.w
	w.IP = ip
	return w, true
}

// Endpoints implements discovery.Resolver: dst is a Service cluster IP and TCP
// port; the result is the ready addresses of its EndpointSlices with the target
// port of the same port name, of dst's address family (as kube-proxy routes a
// dual-stack service).
func (k *Resolver) Endpoints(dst netip.AddrPort) ([]discovery.Endpoint, bool) {
	vip := dst.Addr().Unmap()
	for _, s := range byIndex[*service](k.svcs, byVIP, vip.String()) {
		if name, ok := s.ports[dst.Port()]; ok {
			return k.endpoints(s.key(), name, vip.Is4()), true
		}
	}
	return nil, false
}

func (k *Resolver) endpoints(svc, portName string, v4 bool) []discovery.Endpoint {
	var eps []discovery.Endpoint
	for _, s := range byIndex[*slice](k.slices, byService, svc) {
		eps = slices.Grow(eps, len(s.ready))
		port, ok := s.ports[portName]
		if !ok {
			continue
		}
		for _, ip := range s.ready {
			if ip.Is4() != v4 {
				continue
			}
			w, ok := k.Workload(ip)
			if !ok {
				w = discovery.Workload{IP: ip} // no pod known: not meshed
			}
			eps = append(eps, discovery.Endpoint{Workload: w, Addr: netip.AddrPortFrom(ip, port)})
		}
	}
	return eps
}
