package demo

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
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
	e.mu.Lock()
	e.next++
	n := e.next
	e.mu.Unlock()
	p := &Pod{PodSpec: spec, NetNS: fmt.Sprintf("%s-%s", e.Prefix, spec.Name), env: e}
	if err := e.addNetNS(p.NetNS); err != nil {
		return nil, err
	}
	if err := e.wire(p, n); err != nil {
		return nil, err
	}
	p.Cgroup = filepath.Join(e.Cgroup, spec.Name)
	p.AppCgroup = filepath.Join(p.Cgroup, "app")
	p.ProxyCgroup = filepath.Join(p.Cgroup, "proxy")
	for _, dir := range []string{p.Cgroup, p.AppCgroup, p.ProxyCgroup} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("demo: pod %s cgroup: %w", spec.Name, err)
		}
	}
	return p, nil
}

// wire creates the pod's veth pair inside the pod namespace and moves the outer
// end into the hub: no link ever exists in the host's namespace.
func (e *Env) wire(p *Pod, n int) error {
	outer := fmt.Sprintf("veth%d", n)
	err := e.ip(p.NetNS,
		"link add eth0 type veth peer name "+outer,
		"link set "+outer+" netns "+e.Hub,
		fmt.Sprintf("addr add %s/%d dev eth0", p.IP, e.opts.Subnet.Bits()),
		"link set eth0 up",
		"route add "+netRange+" dev eth0",
	)
	if err != nil {
		return err
	}
	return e.ip(e.Hub, "link set "+outer+" master br0 up")
}

// Proxy returns the pod's running proxy, or nil when it has none.
func (p *Pod) Proxy() *Proxy {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proxy
}
