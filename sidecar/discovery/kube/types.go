package kube

import (
	"encoding/json"
	"net/netip"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// The API objects as decoded: JSON fields Rampart does not name here are skipped
// by the decoder, so a cached pod is a few strings, not a whole spec.

type objectMeta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace"`
	ResourceVersion string            `json:"resourceVersion"`
	Labels          map[string]string `json:"labels"`
}

func (m objectMeta) key() string { return m.Namespace + "/" + m.Name }

type named struct {
	Name string `json:"name"`
}

type apiPod struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		ServiceAccountName string  `json:"serviceAccountName"`
		HostNetwork        bool    `json:"hostNetwork"`
		Containers         []named `json:"containers"`
		InitContainers     []named `json:"initContainers"`
	} `json:"spec"`
	Status struct {
		Phase  string `json:"phase"`
		PodIP  string `json:"podIP"`
		PodIPs []struct {
			IP string `json:"ip"`
		} `json:"podIPs"`
	} `json:"status"`
}

type apiService struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		ClusterIP  string   `json:"clusterIP"`
		ClusterIPs []string `json:"clusterIPs"`
		Ports      []struct {
			Name     string `json:"name"`
			Port     uint16 `json:"port"`
			Protocol string `json:"protocol"`
		} `json:"ports"`
	} `json:"spec"`
}

type apiSlice struct {
	Metadata  objectMeta `json:"metadata"`
	Endpoints []struct {
		Addresses  []string `json:"addresses"`
		Conditions struct {
			Ready *bool `json:"ready"`
		} `json:"conditions"`
	} `json:"endpoints"`
	Ports []struct {
		Name     string `json:"name"`
		Port     uint16 `json:"port"`
		Protocol string `json:"protocol"`
	} `json:"ports"`
}

// object is what the store keeps of one API object.
type object interface {
	ident() (key, rv string)
}

// pod is a trimmed Pod: its workload (without IP) and its addresses. Finished
// pods keep no addresses (their IPs are handed to new pods), nor do host-network
// pods (their IP is the node's, shared by many pods and by the node itself).
type pod struct {
	key, rv string
	w       discovery.Workload
	ips     []netip.Addr
}

func (p *pod) ident() (string, string) { return p.key, p.rv }

// service is a trimmed Service: its cluster IPs and TCP ports by name.
type service struct {
	key, rv string
	vips    []netip.Addr
	ports   map[uint16]string // service port → port name
}

func (s *service) ident() (string, string) { return s.key, s.rv }

// slice is a trimmed EndpointSlice: its service, its TCP ports by name and its
// ready addresses.
type slice struct {
	key, rv string
	service string // namespace/name
	ports   map[string]uint16
	ready   []netip.Addr
}

func (s *slice) ident() (string, string) { return s.key, s.rv }

func (k *Resolver) decodePod(raw json.RawMessage) (object, error) {
	var a apiPod
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	p := &pod{key: a.Metadata.key(), rv: a.Metadata.ResourceVersion}
	p.w = discovery.Workload{Name: a.Metadata.Name, Namespace: a.Metadata.Namespace,
		ServiceAccount: a.Spec.ServiceAccountName, Labels: a.Metadata.Labels}
	if p.w.ServiceAccount == "" {
		p.w.ServiceAccount = "default"
	}
	for _, c := range append(a.Spec.InitContainers, a.Spec.Containers...) {
		p.w.Meshed = p.w.Meshed || c.Name == k.opts.SidecarName
	}
	if p.w.Meshed {
		p.w.Identity = discovery.SPIFFEID(k.opts.TrustDomain, p.w.Namespace, p.w.ServiceAccount)
	}
	if a.Status.Phase == "Succeeded" || a.Status.Phase == "Failed" || a.Spec.HostNetwork {
		return p, nil
	}
	ips := []string{a.Status.PodIP}
	for _, ip := range a.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	p.ips = parseAddrs(ips)
	return p, nil
}

func decodeService(raw json.RawMessage) (object, error) {
	var a apiService
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	s := &service{key: a.Metadata.key(), rv: a.Metadata.ResourceVersion, ports: map[uint16]string{}}
	s.vips = parseAddrs(append([]string{a.Spec.ClusterIP}, a.Spec.ClusterIPs...)) // "None": headless, no VIP
	for _, p := range a.Spec.Ports {
		if p.Protocol == "" || p.Protocol == "TCP" {
			s.ports[p.Port] = p.Name
		}
	}
	return s, nil
}

// serviceNameLabel is discoveryv1.LabelServiceName.
const serviceNameLabel = "kubernetes.io/service-name"

func decodeSlice(raw json.RawMessage) (object, error) {
	var a apiSlice
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	s := &slice{key: a.Metadata.key(), rv: a.Metadata.ResourceVersion, ports: map[string]uint16{}}
	if name := a.Metadata.Labels[serviceNameLabel]; name != "" {
		s.service = a.Metadata.Namespace + "/" + name
	}
	for _, p := range a.Ports {
		if p.Protocol == "" || p.Protocol == "TCP" {
			s.ports[p.Name] = p.Port
		}
	}
	for _, e := range a.Endpoints {
		// A nil ready condition means unknown, which the API says to treat as ready.
		if e.Conditions.Ready == nil || *e.Conditions.Ready {
			s.ready = append(s.ready, parseAddrs(e.Addresses)...)
		}
	}
	return s, nil
}

// parseAddrs keeps the distinct IP addresses of ss (FQDN endpoints and empty
// strings are not addresses).
func parseAddrs(ss []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		dup := false
		for _, o := range out {
			dup = dup || o == ip
		}
		if !dup {
			out = append(out, ip)
		}
	}
	return out
}
