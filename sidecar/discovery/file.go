package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync/atomic"
	"time"
)

// Registry is the registry file's format: services with their endpoints, and
// workloads that are only ever clients (so their labels can be resolved too). Tools
// that write registry files (the demo) marshal it.
type Registry struct {
	TrustDomain string             `json:"trustDomain"`
	Services    []RegistryService  `json:"services"`
	Workloads   []RegistryWorkload `json:"workloads"`
}

// RegistryService is one service VIP and port with its endpoints.
type RegistryService struct {
	Name      string             `json:"name"`
	Namespace string             `json:"namespace"`
	VIP       string             `json:"vip"`
	Port      uint16             `json:"port"`
	Endpoints []RegistryWorkload `json:"endpoints"`
}

// RegistryWorkload is one pod: a service endpoint, or a client-only workload.
type RegistryWorkload struct {
	Pod            string            `json:"pod"`
	Namespace      string            `json:"namespace"`
	ServiceAccount string            `json:"serviceAccount"`
	IP             string            `json:"ip"`
	Port           uint16            `json:"port"`
	Labels         map[string]string `json:"labels"`
	Meshed         bool              `json:"meshed"`
	SPIFFEID       string            `json:"spiffeID"`
	// Ready defaults to true; false keeps the endpoint out of balancing.
	Ready *bool `json:"ready"`
}

// snapshot is one parsed, validated registry; it is never changed after building.
type snapshot struct {
	services  map[netip.AddrPort][]Endpoint
	workloads map[netip.Addr]Workload
}

// File is a Resolver backed by a JSON file. Reload swaps in a new version
// atomically; a file that fails to parse or validate leaves the last good one.
type File struct {
	path string
	cur  atomic.Pointer[snapshot]
	mod  atomic.Int64 // modification time (ns) of the loaded file
}

// LoadFile reads and validates the registry at path. A bad file is an error here,
// so a proxy refuses to start with it.
func LoadFile(path string) (*File, error) {
	f := &File{path: path}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Reload re-reads the file. On error the previous registry stays in use.
func (f *File) Reload() error {
	st, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("discovery: registry %s: %w", f.path, err)
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("discovery: registry %s: %w", f.path, err)
	}
	snap, err := parseRegistry(data)
	if err != nil {
		return fmt.Errorf("discovery: registry %s: %w", f.path, err)
	}
	f.cur.Store(snap)
	f.mod.Store(st.ModTime().UnixNano())
	return nil
}

// Watch polls the file every interval and reloads it when its modification time
// changes, logging (and keeping the last good registry) on errors, until ctx ends.
func (f *File) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := os.Stat(f.path)
		if err != nil || st.ModTime().UnixNano() == f.mod.Load() {
			continue
		}
		if err := f.Reload(); err != nil {
			f.mod.Store(st.ModTime().UnixNano()) // report a bad version once
			log.Error("registry reload failed, keeping last good", "err", err)
		}
	}
}

// Endpoints implements Resolver.
func (f *File) Endpoints(dst netip.AddrPort) ([]Endpoint, bool) {
	eps, ok := f.cur.Load().services[netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())]
	return eps, ok
}

// Workload implements Resolver.
func (f *File) Workload(ip netip.Addr) (Workload, bool) {
	w, ok := f.cur.Load().workloads[ip.Unmap()]
	return w, ok
}

// CheckRegistry parses and validates registry JSON without loading it, so a file
// can be checked before it is shipped (and fuzzed).
func CheckRegistry(data []byte) error {
	_, err := parseRegistry(data)
	return err
}

func parseRegistry(data []byte) (*snapshot, error) {
	var spec Registry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse: trailing data after the registry object")
	}
	if spec.TrustDomain == "" {
		spec.TrustDomain = "cluster.local"
	}
	return spec.build()
}

func (s *Registry) build() (*snapshot, error) {
	snap := &snapshot{services: map[netip.AddrPort][]Endpoint{}, workloads: map[netip.Addr]Workload{}}
	for i, w := range s.Workloads {
		wl, _, err := w.workload(s.TrustDomain)
		if err != nil {
			return nil, fmt.Errorf("workloads[%d]: %w", i, err)
		}
		snap.workloads[wl.IP] = wl
	}
	for i, svc := range s.Services {
		key, eps, err := svc.endpoints(s.TrustDomain, snap.workloads)
		if err != nil {
			return nil, fmt.Errorf("services[%d] %q: %w", i, svc.Name, err)
		}
		if _, dup := snap.services[key]; dup {
			return nil, fmt.Errorf("services[%d] %q: address %s listed twice", i, svc.Name, key)
		}
		snap.services[key] = eps
	}
	return snap, nil
}

func (svc RegistryService) endpoints(td string, workloads map[netip.Addr]Workload) (netip.AddrPort, []Endpoint, error) {
	vip, err := netip.ParseAddr(svc.VIP)
	if err != nil {
		return netip.AddrPort{}, nil, fmt.Errorf("vip: %w", err)
	}
	if svc.Port == 0 {
		return netip.AddrPort{}, nil, fmt.Errorf("port missing")
	}
	eps := make([]Endpoint, 0, len(svc.Endpoints))
	for j, e := range svc.Endpoints {
		if e.Port == 0 {
			e.Port = svc.Port
		}
		if e.Namespace == "" {
			e.Namespace = svc.Namespace
		}
		wl, ready, err := e.workload(td)
		if err != nil {
			return netip.AddrPort{}, nil, fmt.Errorf("endpoints[%d]: %w", j, err)
		}
		workloads[wl.IP] = wl
		if ready {
			eps = append(eps, Endpoint{Workload: wl, Addr: netip.AddrPortFrom(wl.IP, e.Port)})
		}
	}
	return netip.AddrPortFrom(vip.Unmap(), svc.Port), eps, nil
}

func (w RegistryWorkload) workload(td string) (Workload, bool, error) {
	ip, err := netip.ParseAddr(w.IP)
	if err != nil {
		return Workload{}, false, fmt.Errorf("ip: %w", err)
	}
	if w.Namespace == "" || w.ServiceAccount == "" {
		return Workload{}, false, fmt.Errorf("%s: namespace and serviceAccount are required", w.IP)
	}
	wl := Workload{Name: w.Pod, Namespace: w.Namespace, ServiceAccount: w.ServiceAccount,
		IP: ip.Unmap(), Labels: w.Labels, Meshed: w.Meshed}
	if w.Meshed {
		wl.Identity = w.SPIFFEID
		if wl.Identity == "" {
			wl.Identity = SPIFFEID(td, w.Namespace, w.ServiceAccount)
		}
		if _, ns, sa, ok := ParseSPIFFEID(wl.Identity); !ok || ns != w.Namespace || sa != w.ServiceAccount {
			return Workload{}, false, fmt.Errorf("%s: spiffeID %q does not name ns %q sa %q", w.IP, wl.Identity, w.Namespace, w.ServiceAccount)
		}
	}
	return wl, w.Ready == nil || *w.Ready, nil
}
