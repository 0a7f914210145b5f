package node

import "net/netip"

// message is one line of the catalog's stream (catalog.Message).
type message struct {
	Version          uint64         `json:"version"`
	Full             bool           `json:"full"`
	Workloads        []wireWorkload `json:"workloads"`
	Services         []wireService  `json:"services"`
	RemovedWorkloads []netip.Addr   `json:"removedWorkloads"`
	RemovedServices  []string       `json:"removedServices"`
}

type wireWorkload struct {
	IP             netip.Addr        `json:"ip"`
	Name           string            `json:"name"`
	Namespace      string            `json:"namespace"`
	ServiceAccount string            `json:"serviceAccount"`
	Labels         map[string]string `json:"labels"`
	Meshed         bool              `json:"meshed"`
	Identity       string            `json:"identity"`
}

type wireService struct {
	Name      string        `json:"name"`
	Addresses []wireAddress `json:"addresses"`
}

type wireAddress struct {
	Address   netip.AddrPort   `json:"address"`
	Endpoints []netip.AddrPort `json:"endpoints"`
}
