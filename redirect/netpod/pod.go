package netpod

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

// PodSpec describes one pod.
type PodSpec struct {
	// Name is unique in the Env, e.g. "deathstar-1". Required.
	Name string
	// Addrs are eth0's addresses with their prefix lengths, from 198.18.0.0/15
	// (or 2001:2::/48); IPv6 ones skip duplicate address detection.
	Addrs []netip.Prefix
	// Layout names the pod's cgroups. Default: Name with children "app" and "proxy".
	Layout Layout
}

// Layout names a pod's cgroup folders, relative to the Env's cgroup: e.g. kubelet's
// cgroupfs layout "kubepods/burstable/pod<uid>" with container IDs as children.
type Layout struct{ Cgroup, App, Proxy string }

// Pod is a network namespace with eth0 on the Env's bridge and a cgroup with two
// children, one for its application processes and one for its proxy.
type Pod struct {
	Name        string
	NetNS       string // namespace name (under /run/netns)
	Cgroup      string // the pod's cgroup; capture attaches here
	AppCgroup   string
	ProxyCgroup string
}

// NetNSPath is the pod's namespace path, for nsenter, setns and sk_lookup.
func (p *Pod) NetNSPath() string { return NSPath(p.NetNS) }

// AddPod creates a pod: its namespace, a veth pair to the bridge, addresses and
// cgroups. What it made is removed at Close, also when it fails half-way.
func (e *Env) AddPod(spec PodSpec) (*Pod, error) {
	if spec.Layout == (Layout{}) {
		spec.Layout = Layout{Cgroup: spec.Name, App: "app", Proxy: "proxy"}
	}
	e.mu.Lock()
	e.next++
	n := e.next
	e.mu.Unlock()
	p := &Pod{Name: spec.Name, NetNS: fmt.Sprintf("%s-%s", e.Prefix, spec.Name)}
	if err := e.addNetNS(p.NetNS); err != nil {
		return nil, err
	}
	if err := e.wire(p, n, spec.Addrs); err != nil {
		return nil, err
	}
	p.Cgroup = filepath.Join(e.Cgroup, spec.Layout.Cgroup)
	p.AppCgroup = filepath.Join(p.Cgroup, spec.Layout.App)
	p.ProxyCgroup = filepath.Join(p.Cgroup, spec.Layout.Proxy)
	for _, dir := range []string{p.Cgroup, p.AppCgroup, p.ProxyCgroup} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("netpod: pod %s cgroup: %w", spec.Name, err)
		}
	}
	return p, nil
}

// wire creates the pod's veth pair inside the pod namespace and moves the outer
// end into the hub: no link ever exists in the host's namespace.
func (e *Env) wire(p *Pod, n int, addrs []netip.Prefix) error {
	outer := fmt.Sprintf("veth%d", n)
	cmds := []string{"link add eth0 type veth peer name " + outer, "link set " + outer + " netns " + e.Hub}
	for _, a := range addrs {
		cmd := fmt.Sprintf("addr add %s dev eth0", a)
		if a.Addr().Is6() {
			cmd += " nodad"
		}
		cmds = append(cmds, cmd)
	}
	cmds = append(cmds, "link set eth0 up")
	if e.HubIP.IsValid() {
		cmds = append(cmds, "route add "+netRange+" dev eth0")
	}
	if err := e.IP(p.NetNS, cmds...); err != nil {
		return err
	}
	return e.IP(e.Hub, "link set "+outer+" master br0 up")
}
