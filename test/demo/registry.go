package demo

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// TrustDomain is the demo mesh's SPIFFE trust domain.
const TrustDomain = identity.DefaultTrustDomain

// Files in the work folder that every proxy reads.
const (
	registryFile  = "registry.json"  // services and pods (sidecar/discovery.File)
	workloadsFile = "workloads.json" // pod address -> identity and labels (inbound)
)

// Service is a virtual IP in front of pods, as a Kubernetes Service is.
type Service struct {
	Name, Namespace string
	VIP             netip.Addr
	Port            uint16 // the VIP's port; the pods serve on the same port
	Pods            []*Pod
}

// WriteRegistry writes the service registry and the workload file for the given
// pods and services, atomically, so running proxies reload a whole version.
func (e *Env) WriteRegistry(pods []*Pod, services []*Service) error {
	reg := discovery.Registry{TrustDomain: TrustDomain}
	work := map[string]workloadEntry{}
	for _, p := range pods {
		reg.Workloads = append(reg.Workloads, entryOf(p, 0))
		work[p.IP.String()] = workloadEntry{Namespace: p.Namespace, ServiceAccount: p.ServiceAccount, Labels: p.Labels}
	}
	for _, s := range services {
		rs := discovery.RegistryService{Name: s.Name, Namespace: s.Namespace, VIP: s.VIP.String(), Port: s.Port}
		for _, p := range s.Pods {
			rs.Endpoints = append(rs.Endpoints, entryOf(p, s.Port))
		}
		reg.Services = append(reg.Services, rs)
	}
	if err := writeJSON(e.Path(registryFile), reg); err != nil {
		return err
	}
	return writeJSON(e.Path(workloadsFile), work)
}

// workloadEntry is sidecar/inbound's workloads file format.
type workloadEntry struct {
	Namespace      string            `json:"namespace"`
	ServiceAccount string            `json:"serviceAccount"`
	Labels         map[string]string `json:"labels,omitempty"`
}

func entryOf(p *Pod, port uint16) discovery.RegistryWorkload {
	r := discovery.RegistryWorkload{Pod: p.Name, Namespace: p.Namespace, ServiceAccount: p.ServiceAccount,
		IP: p.IP.String(), Port: port, Labels: p.Labels, Meshed: p.Meshed}
	if r.Meshed {
		r.SPIFFEID = p.SPIFFEID()
	}
	return r
}

// SPIFFEID is the identity the pod's proxy presents.
func (p *Pod) SPIFFEID() string {
	return fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", TrustDomain, p.Namespace, p.ServiceAccount)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return os.Rename(tmp, path)
}

func chownTree(dir string, uid int) error {
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, uid, uid)
	})
}
