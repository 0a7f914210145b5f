package node

import (
	"maps"
	"net/netip"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// view is one immutable state of what the agent told: never changed once
// published, a message makes a new one.
type view struct {
	version   uint64
	workloads map[netip.Addr]discovery.Workload
	services  map[string]wireService
	vips      map[netip.AddrPort][]netip.AddrPort // service address → endpoint addresses
}

func emptyView() *view {
	return &view{workloads: map[netip.Addr]discovery.Workload{}, services: map[string]wireService{},
		vips: map[netip.AddrPort][]netip.AddrPort{}}
}

// apply returns the view after m. Workloads and services are copied maps:
// the cost of a change is one copy of the pod's view, which holds one or a
// few namespaces, not the cluster.
func (v *view) apply(m *message) *view {
	next := emptyView()
	if !m.Full {
		next.workloads, next.services = maps.Clone(v.workloads), maps.Clone(v.services)
	}
	next.version = m.Version
	for _, ip := range m.RemovedWorkloads {
		delete(next.workloads, ip.Unmap())
	}
	for _, name := range m.RemovedServices {
		delete(next.services, name)
	}
	for _, w := range m.Workloads {
		ip := w.IP.Unmap()
		next.workloads[ip] = discovery.Workload{Name: w.Name, Namespace: w.Namespace, ServiceAccount: w.ServiceAccount,
			IP: ip, Labels: w.Labels, Meshed: w.Meshed, Identity: w.Identity}
	}
	for _, s := range m.Services {
		next.services[s.Name] = s
	}
	// The VIP index is rebuilt: services are few per namespace, and a stale
	// address must never outlive its service.
	for _, s := range next.services {
		for _, a := range s.Addresses {
			next.vips[netip.AddrPortFrom(a.Address.Addr().Unmap(), a.Address.Port())] = a.Endpoints
		}
	}
	return next
}

func (v *view) workload(ip netip.Addr) (discovery.Workload, bool) {
	w, ok := v.workloads[ip.Unmap()]
	return w, ok
}

func (v *view) endpoints(dst netip.AddrPort) ([]discovery.Endpoint, bool) {
	addrs, ok := v.vips[netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())]
	if !ok {
		return nil, false
	}
	eps := make([]discovery.Endpoint, 0, len(addrs))
	for _, a := range addrs {
		w, found := v.workload(a.Addr())
		if !found {
			w = discovery.Workload{IP: a.Addr().Unmap()} // no pod it may see: not meshed
		}
		eps = append(eps, discovery.Endpoint{Workload: w, Addr: netip.AddrPortFrom(a.Addr().Unmap(), a.Port())})
	}
	return eps, true
}
