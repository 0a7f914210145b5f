package kube

import (
	"net/netip"
	"slices"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// View is what the resolver currently knows, for /debug/config and tests.
type View struct {
	Services  []ServiceView        `json:"services"`
	Workloads []discovery.Workload `json:"workloads"`
}

// ServiceView is one service address and the endpoints it resolves to now.
type ServiceView struct {
	Service   string               `json:"service"` // namespace/name
	Address   netip.AddrPort       `json:"address"`
	Endpoints []discovery.Endpoint `json:"endpoints"`
}

// View returns a copy of the current state, sorted.
func (k *Resolver) View() View {
	var v View
	for _, obj := range k.svcs.informer.GetStore().List() {
		s, ok := obj.(*service)
		if !ok {
			continue
		}
		for _, ip := range s.vips {
			for port, name := range s.ports {
				v.Services = append(v.Services, ServiceView{Service: s.key(),
					Address: netip.AddrPortFrom(ip, port), Endpoints: k.endpoints(s.key(), name, ip.Is4())})
			}
		}
	}
	for _, ip := range k.pods.informer.GetIndexer().ListIndexFuncValues(byIP) {
		addr, err := netip.ParseAddr(ip)
		if w, ok := k.Workload(addr); err == nil && ok {
			v.Workloads = append(v.Workloads, w)
		}
	}
	slices.SortFunc(v.Services, func(a, b ServiceView) int { return a.Address.Compare(b.Address) })
	slices.SortFunc(v.Workloads, func(a, b discovery.Workload) int { return a.IP.Compare(b.IP) })
	return v
}
