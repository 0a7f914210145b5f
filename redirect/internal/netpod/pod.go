package netpod

import (
	"fmt"
	"net/netip"
	"path/filepath"
)

// Pod is a test pod: its namespace, addresses and cgroups.
type Pod struct {
	Name        string
	NetNS       string     // namespace path, for setns and sk_lookup
	IP4         netip.Addr // from the package's 198.18.x.0/24
	IP6         netip.Addr // invalid when the pod has no IPv6
	Cgroup      string     // the pod's cgroup; capture attaches here
	AppCgroup   string     // child cgroup for the app's processes
	ProxyCgroup string     // child cgroup for the proxy's processes
	env         *Env
}

// Pod creates a pod with the given IPv4 (/24) and optional IPv6 (/64) address, its
// cgroup named after it with children "app" and "proxy".
func (e *Env) Pod(name string, ip4, ip6 netip.Addr) *Pod {
	e.t.Helper()
	return e.PodIn(name, Layout{Cgroup: name, App: "app", Proxy: "proxy"}, ip4, ip6)
}

// Layout names a pod's cgroup folders, relative to the Env's cgroup: e.g. kubelet's
// cgroupfs layout "kubepods/burstable/pod<uid>" with container IDs as children.
type Layout struct{ Cgroup, App, Proxy string }

// PodIn creates a pod whose cgroups follow layout.
func (e *Env) PodIn(name string, layout Layout, ip4, ip6 netip.Addr) *Pod {
	e.t.Helper()
	e.next++
	p := &Pod{Name: name, IP4: ip4, IP6: ip6, env: e}
	p.NetNS = e.addNetNS(e.name("-" + name))
	veth, peer := fmt.Sprintf("v%d", e.next), e.name(fmt.Sprintf("p%d", e.next))
	e.Run(p.NetNS, "link", "add", "eth0", "type", "veth", "peer", "name", peer)
	e.Run(p.NetNS, "link", "set", peer, "netns", e.Hub)
	e.Run(e.Hub, "link", "set", peer, "name", veth)
	e.Run(e.Hub, "link", "set", veth, "master", "br0", "up")
	e.Run(p.NetNS, "addr", "add", ip4.String()+"/24", "dev", "eth0")
	if ip6.IsValid() {
		e.Run(p.NetNS, "addr", "add", ip6.String()+"/64", "dev", "eth0", "nodad")
	}
	e.Run(p.NetNS, "link", "set", "eth0", "up")
	p.Cgroup = e.mkCgroup(layout.Cgroup)
	p.AppCgroup = e.mkCgroup(filepath.Join(layout.Cgroup, layout.App))
	p.ProxyCgroup = e.mkCgroup(filepath.Join(layout.Cgroup, layout.Proxy))
	return p
}
