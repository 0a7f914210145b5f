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
	k.st.mu.RLock()
	defer k.st.mu.RUnlock()
	var v View
	for key, s := range k.st.services {
		for _, ip := range s.vips {
			for port, name := range s.ports {
				v.Services = append(v.Services, ServiceView{Service: key,
					Address: netip.AddrPortFrom(ip, port), Endpoints: k.endpoints(key, name, ip.Is4())})
			}
		}
	}
	for ip := range k.st.podsByIP {
		w, _ := k.workload(ip)
		v.Workloads = append(v.Workloads, w)
	}
	slices.SortFunc(v.Services, func(a, b ServiceView) int { return a.Address.Compare(b.Address) })
	slices.SortFunc(v.Workloads, func(a, b discovery.Workload) int { return a.IP.Compare(b.IP) })
	return v
}
