package inbound

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"sigs.k8s.io/yaml"

	"github.com/rampart-mesh/rampart/identity"
)

// Workload is what the mesh knows about the pod at an address.
type Workload struct {
	Namespace      string            `json:"namespace"`
	ServiceAccount string            `json:"serviceAccount"`
	Labels         map[string]string `json:"labels"`
}

// WorkloadResolver maps a peer's address to its pod. A Kubernetes-backed one comes
// with service discovery; FileWorkloads reads a file.
type WorkloadResolver interface {
	Workload(addr netip.Addr) (Workload, bool)
}

// FileWorkloads is a static WorkloadResolver read from a JSON or YAML file mapping
// pod addresses to workloads:
//
//	198.18.0.2: {namespace: default, serviceAccount: tiefighter, labels: {org: empire}}
type FileWorkloads map[netip.Addr]Workload

// LoadWorkloads reads a FileWorkloads file.
func LoadWorkloads(path string) (FileWorkloads, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read workloads: %w", err)
	}
	w, err := ParseWorkloads(b)
	if err != nil {
		return nil, fmt.Errorf("workloads %s: %w", path, err)
	}
	return w, nil
}

// ParseWorkloads parses the JSON or YAML form of FileWorkloads. Unknown fields and
// keys that are not IP addresses are errors.
func ParseWorkloads(b []byte) (FileWorkloads, error) {
	var raw map[string]Workload
	if err := yaml.UnmarshalStrict(b, &raw); err != nil {
		return nil, fmt.Errorf("parse workloads: %w", err)
	}
	out := make(FileWorkloads, len(raw))
	for k, w := range raw {
		a, err := netip.ParseAddr(k)
		if err != nil {
			return nil, fmt.Errorf("parse workloads: %w", err)
		}
		out[a.Unmap()] = w
	}
	return out, nil
}

// Workload implements WorkloadResolver.
func (f FileWorkloads) Workload(addr netip.Addr) (Workload, bool) {
	w, ok := f[addr.Unmap()]
	return w, ok
}

// trustedLabels returns the labels of the pod at addr only when that pod's namespace
// and service account are the ones in the peer's authenticated SPIFFE ID: an address
// alone is spoofable, the SVID is not.
func trustedLabels(r WorkloadResolver, principal string, addr netip.Addr) map[string]string {
	if r == nil || principal == "" {
		return nil
	}
	id, err := spiffeid.FromString(principal)
	if err != nil {
		return nil
	}
	peer, err := identity.WorkloadOf(id)
	if err != nil {
		return nil
	}
	w, ok := r.Workload(addr)
	if !ok || w.Namespace != peer.Namespace || w.ServiceAccount != peer.ServiceAccount {
		return nil
	}
	return w.Labels
}

// WorkloadFunc adapts a function (e.g. over a discovery registry) to WorkloadResolver.
type WorkloadFunc func(addr netip.Addr) (Workload, bool)

// Workload calls f.
func (f WorkloadFunc) Workload(addr netip.Addr) (Workload, bool) { return f(addr) }
