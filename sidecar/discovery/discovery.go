package discovery

import (
	"errors"
	"net/netip"
	"strings"
)

// ErrNoEndpoints is returned when a known service has no usable endpoint.
var ErrNoEndpoints = errors.New("discovery: service has no ready endpoints")

// Resolver looks addresses up. Both methods are called per connection, so they must
// be cheap and safe for concurrent use.
type Resolver interface {
	// Endpoints returns the ready endpoints behind a service address. ok is false
	// when dst is not a known service address (the caller then dials dst itself,
	// after looking it up as a workload).
	Endpoints(dst netip.AddrPort) (eps []Endpoint, ok bool)
	// Workload returns the pod with this IP.
	Workload(ip netip.Addr) (Workload, bool)
}

// Workload is what Rampart knows about one pod.
type Workload struct {
	Name           string            `json:"name,omitempty"`
	Namespace      string            `json:"namespace,omitempty"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
	IP             netip.Addr        `json:"ip"`
	Labels         map[string]string `json:"labels,omitempty"`
	// Meshed is true when the pod runs a Rampart sidecar that accepts HBONE on 15008.
	Meshed bool `json:"meshed"`
	// Identity is the SPIFFE ID the pod's proxy presents ("" when not meshed).
	Identity string `json:"identity,omitempty"`
}

// Endpoint is one backend of a service: a workload and the port it serves on.
type Endpoint struct {
	Workload
	Addr netip.AddrPort `json:"addr"` // pod IP and target port
}

// SPIFFEID returns spiffe://<td>/ns/<ns>/sa/<sa>.
func SPIFFEID(trustDomain, namespace, serviceAccount string) string {
	return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount
}

// ParseSPIFFEID splits a Kubernetes-shaped SPIFFE ID into trust domain, namespace
// and service account. ok is false for any other shape.
func ParseSPIFFEID(id string) (td, ns, sa string, ok bool) {
	rest, found := strings.CutPrefix(id, "spiffe://")
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 || parts[0] == "" || parts[1] != "ns" || parts[3] != "sa" ||
		parts[2] == "" || parts[4] == "" {
		return "", "", "", false
	}
	return parts[0], parts[2], parts[4], true
}

// TrustedLabels returns the labels of the pod at ip, but only when that pod's
// namespace and service account are the ones the peer's authenticated SPIFFE ID
// names: a peer cannot borrow another pod's labels by spoofing or reusing an
// address. It returns nil otherwise.
func TrustedLabels(r Resolver, ip netip.Addr, peerID string) map[string]string {
	if r == nil || peerID == "" {
		return nil
	}
	_, ns, sa, ok := ParseSPIFFEID(peerID)
	if !ok {
		return nil
	}
	w, found := r.Workload(ip.Unmap())
	if !found || w.Namespace != ns || w.ServiceAccount != sa {
		return nil
	}
	return w.Labels
}
