package catalog

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// podIPs are the addresses a pod holds: none once it finished (its IPs go to new
// pods) or when it shares the node's network (that address is not the pod's).
func podIPs(p *corev1.Pod) []netip.Addr {
	if p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return nil
	}
	ss := []string{p.Status.PodIP}
	for _, ip := range p.Status.PodIPs {
		ss = append(ss, ip.IP)
	}
	return parseAddrs(ss)
}

// workloadOf is the peer view of pod p at ip.
func (c *Catalog) workloadOf(p *corev1.Pod, ip netip.Addr) *Workload {
	w := &Workload{IP: ip, Name: p.Name, Namespace: p.Namespace, ServiceAccount: p.Spec.ServiceAccountName, Labels: p.Labels}
	if w.ServiceAccount == "" {
		w.ServiceAccount = "default"
	}
	for _, ctr := range p.Spec.Containers {
		w.Meshed = w.Meshed || ctr.Name == c.opts.SidecarName
	}
	if w.Meshed {
		w.Identity = "spiffe://" + c.opts.TrustDomain + "/ns/" + w.Namespace + "/sa/" + w.ServiceAccount
	}
	return w
}

// newestPod is the pod holding ip: while an IP is handed over two pods may
// list it, and the newer one has it (the greater name on a tie, so the answer
// does not depend on cache order).
func newestPod(pods []*corev1.Pod) *corev1.Pod {
	var newest *corev1.Pod
	for _, p := range pods {
		if newest == nil || newest.CreationTimestamp.Before(&p.CreationTimestamp) ||
			newest.CreationTimestamp.Equal(&p.CreationTimestamp) && p.Namespace+"/"+p.Name > newest.Namespace+"/"+newest.Name {
			newest = p
		}
	}
	return newest
}

// serviceOf is a service's entry: per cluster IP and TCP port, the ready
// addresses of its slices of that family with the target port of the same
// port name (as kube-proxy routes). nil for a headless service.
func serviceOf(s *corev1.Service, sls []*discoveryv1.EndpointSlice) *Service {
	vips := parseAddrs(append([]string{s.Spec.ClusterIP}, s.Spec.ClusterIPs...))
	if len(vips) == 0 {
		return nil
	}
	out := &Service{Name: s.Namespace + "/" + s.Name}
	for _, vip := range vips {
		for _, sp := range s.Spec.Ports {
			if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP || sp.Port <= 0 || sp.Port > 65535 {
				continue
			}
			a := Address{Address: netip.AddrPortFrom(vip, uint16(sp.Port)), Endpoints: []netip.AddrPort{}}
			for _, sl := range sls {
				a.Endpoints = append(a.Endpoints, readyEndpoints(sl, sp.Name, vip.Is4())...)
			}
			slices.SortFunc(a.Endpoints, func(x, y netip.AddrPort) int { return x.Compare(y) })
			out.Addresses = append(out.Addresses, a)
		}
	}
	slices.SortFunc(out.Addresses, func(x, y Address) int { return x.Address.Compare(y.Address) })
	return out
}

func readyEndpoints(sl *discoveryv1.EndpointSlice, portName string, v4 bool) []netip.AddrPort {
	var port uint16
	for _, p := range sl.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		tcp := p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP
		if name == portName && tcp && p.Port != nil && *p.Port > 0 && *p.Port <= 65535 {
			port = uint16(*p.Port)
		}
	}
	if port == 0 {
		return nil
	}
	var out []netip.AddrPort
	for _, e := range sl.Endpoints {
		// No ready condition means unknown, which the API says to treat as ready.
		if e.Conditions.Ready != nil && !*e.Conditions.Ready {
			continue
		}
		for _, ip := range parseAddrs(e.Addresses) {
			if ip.Is4() == v4 {
				out = append(out, netip.AddrPortFrom(ip, port))
			}
		}
	}
	return out
}

// parseAddrs keeps the distinct IP addresses of ss ("None", FQDNs and empty
// strings are not addresses).
func parseAddrs(ss []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		ip, err := netip.ParseAddr(strings.TrimSpace(s))
		if err == nil && !slices.Contains(out, ip.Unmap()) {
			out = append(out, ip.Unmap())
		}
	}
	return out
}
