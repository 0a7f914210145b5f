package redirect

import "github.com/cilium/ebpf"

// cgroupProgram is one program attached to the pod's cgroup.
type cgroupProgram struct {
	pin       string // file name under the pod's pin folder
	attach    ebpf.AttachType
	minKernel string // for cgroup bpf_link and this attach type
	prog      func(*capturePrograms) *ebpf.Program
}

// cgroupPrograms lists the cgroup programs in attach order. connect4 comes last:
// the injected capture check passes once it redirects, and an app starts then, so
// everything else must already be attached (a failure before it detaches all).
func cgroupPrograms() []cgroupProgram {
	return []cgroupProgram{
		{"link_sockops", ebpf.AttachCGroupSockOps, "5.7", func(p *capturePrograms) *ebpf.Program { return p.RampartSockops }},
		{"link_getsockopt", ebpf.AttachCGroupGetsockopt, "5.7", func(p *capturePrograms) *ebpf.Program { return p.RampartGetsockopt }},
		{"link_getpeername4", ebpf.AttachCgroupInet4GetPeername, "5.8", func(p *capturePrograms) *ebpf.Program { return p.RampartGetpeername4 }},
		{"link_getpeername6", ebpf.AttachCgroupInet6GetPeername, "5.8", func(p *capturePrograms) *ebpf.Program { return p.RampartGetpeername6 }},
		{"link_getsockname4", ebpf.AttachCgroupInet4GetSockname, "5.8", func(p *capturePrograms) *ebpf.Program { return p.RampartGetsockname4 }},
		{"link_getsockname6", ebpf.AttachCgroupInet6GetSockname, "5.8", func(p *capturePrograms) *ebpf.Program { return p.RampartGetsockname6 }},
		{"link_connect6", ebpf.AttachCGroupInet6Connect, "5.7", func(p *capturePrograms) *ebpf.Program { return p.RampartConnect6 }},
		{"link_connect4", ebpf.AttachCGroupInet4Connect, "5.7", func(p *capturePrograms) *ebpf.Program { return p.RampartConnect4 }},
	}
}

// Pin names of what is not a cgroup link.
const (
	pinSkLookup = "link_sk_lookup"
	pinSkMsg    = "prog_sk_msg"
	mapPrefix   = "map_"
)

// Map names as pinned (without mapPrefix), the same as in capture.c.
const (
	mapSettings         = "settings"
	mapStats            = "stats"
	mapOrigDst          = "orig_dst"
	mapInboundListener  = "inbound_listener"
	mapPairs            = "pairs"
	mapExcludedOutPorts = "excluded_out_ports"
	mapExcludedInPorts  = "excluded_in_ports"
	mapExcludedCIDR4    = "excluded_cidr4"
	mapExcludedCIDR6    = "excluded_cidr6"
	mapPodIPs           = "pod_ips"
)

func (m *captureMaps) byName() map[string]*ebpf.Map {
	return map[string]*ebpf.Map{
		mapSettings: m.Settings, mapStats: m.Stats, mapOrigDst: m.OrigDst,
		mapInboundListener: m.InboundListener, mapPairs: m.Pairs,
		mapExcludedOutPorts: m.ExcludedOutPorts, mapExcludedInPorts: m.ExcludedInPorts,
		mapExcludedCIDR4: m.ExcludedCidr4, mapExcludedCIDR6: m.ExcludedCidr6,
		mapPodIPs: m.PodIps,
	}
}
