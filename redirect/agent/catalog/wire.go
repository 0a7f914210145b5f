package catalog

import "net/netip"

// The wire format of /v1/watch. The proxy (sidecar/discovery/node) has its own
// decoder of these lines, since redirect may not import sidecar nor sidecar
// redirect; test/discovery_test.go runs the two together to keep them in step.

// Message is one line of the stream.
type Message struct {
	// Version is the store's version this message brings the subscriber to.
	Version uint64 `json:"version"`
	// Full replaces everything the subscriber knew; otherwise the fields below
	// are changes. A message with neither changes nor Full is a heartbeat.
	Full bool `json:"full,omitempty"`
	// Workloads are added or replaced, by IP.
	Workloads []*Workload `json:"workloads,omitempty"`
	// Services are added or replaced, by Name.
	Services []*Service `json:"services,omitempty"`
	// RemovedWorkloads and RemovedServices are gone (or no longer visible).
	RemovedWorkloads []netip.Addr `json:"removedWorkloads,omitempty"`
	RemovedServices  []string     `json:"removedServices,omitempty"`
}

// Workload is a pod as a peer: no spec, only what policy and routing read.
type Workload struct {
	IP             netip.Addr        `json:"ip"`
	Name           string            `json:"name"`
	Namespace      string            `json:"namespace"`
	ServiceAccount string            `json:"serviceAccount"`
	Labels         map[string]string `json:"labels,omitempty"`
	// Meshed: the pod runs a Rampart sidecar; Identity is then its SPIFFE ID.
	Meshed   bool   `json:"meshed"`
	Identity string `json:"identity,omitempty"`
}

// Service is one Service's addresses (cluster IP and TCP port) and the ready
// endpoints each resolves to, of the cluster IP's address family. Endpoints
// carry addresses only: the proxy joins them with the workloads it sees (a
// pod of a namespace it may not see is, to it, an unmeshed address).
type Service struct {
	Name      string    `json:"name"` // namespace/name
	Addresses []Address `json:"addresses"`
}

// Address is one service address and its endpoints (pod IP and target port).
type Address struct {
	Address   netip.AddrPort   `json:"address"`
	Endpoints []netip.AddrPort `json:"endpoints"`
}

func splitKey(key string) (ns, name string) {
	for i := range len(key) {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}
