package podtest

import (
	"net/netip"

	"github.com/rampart-mesh/rampart/redirect/netpod"
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

// Layout names a pod's cgroup folders, relative to the Env's cgroup.
type Layout = netpod.Layout

// Pod creates a pod with the given IPv4 (/24) and optional IPv6 (/64) address, its
// cgroup named after it with children "app" and "proxy".
func (e *Env) Pod(name string, ip4, ip6 netip.Addr) *Pod {
	e.t.Helper()
	return e.PodIn(name, Layout{Cgroup: name, App: "app", Proxy: "proxy"}, ip4, ip6)
}

// PodIn creates a pod whose cgroups follow layout.
func (e *Env) PodIn(name string, layout Layout, ip4, ip6 netip.Addr) *Pod {
	e.t.Helper()
	addrs := []netip.Prefix{netip.PrefixFrom(ip4, 24)}
	if ip6.IsValid() {
		addrs = append(addrs, netip.PrefixFrom(ip6, 64))
	}
	np, err := e.AddPod(netpod.PodSpec{Name: name, Addrs: addrs, Layout: layout})
	if err != nil {
		e.t.Fatal(err)
	}
	return &Pod{Name: name, NetNS: np.NetNSPath(), IP4: ip4, IP6: ip6, Cgroup: np.Cgroup,
		AppCgroup: np.AppCgroup, ProxyCgroup: np.ProxyCgroup, env: e}
}
