package demo

import (
	"net/netip"
	"sync"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// PodSpec describes one pod.
type PodSpec struct {
	Name           string            // unique in the Env, e.g. "deathstar-1"
	Namespace      string            // Kubernetes namespace it stands for; "default"
	ServiceAccount string            // its SPIFFE identity's service account; Name
	IP             netip.Addr        // from 198.18.0.0/15
	Labels         map[string]string // its labels, as policy sees them
	Meshed         bool              // it runs a proxy (Pod.Mesh); the registry says so
}

// Pod is a network namespace with eth0 on the Env's bridge and a cgroup with two
// children: "app" for its application processes and "proxy" for its proxy.
type Pod struct {
	PodSpec
	NetNS       string // namespace name (under /run/netns)
	Cgroup      string // the pod's cgroup; capture attaches here
	AppCgroup   string
	ProxyCgroup string
	env         *Env

	mu    sync.Mutex
	proxy *Proxy // nil for unmeshed pods
}

// AddPod creates a pod.
func (e *Env) AddPod(spec PodSpec) (*Pod, error) {
	if spec.Namespace == "" {
		spec.Namespace = "default"
	}
	if spec.ServiceAccount == "" {
		spec.ServiceAccount = spec.Name
	}
	np, err := e.Env.AddPod(netpod.PodSpec{Name: spec.Name,
		Addrs: []netip.Prefix{netip.PrefixFrom(spec.IP, e.opts.Subnet.Bits())}})
	if err != nil {
		return nil, err
	}
	return &Pod{PodSpec: spec, NetNS: np.NetNS, Cgroup: np.Cgroup, AppCgroup: np.AppCgroup,
		ProxyCgroup: np.ProxyCgroup, env: e}, nil
}

// Proxy returns the pod's running proxy, or nil when it has none.
func (p *Pod) Proxy() *Proxy {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proxy
}
