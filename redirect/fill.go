package redirect

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
)

const (
	afInet  = 2
	afInet6 = 10
)

// fill writes the pod's settings into its freshly loaded maps.
func fill(m *captureMaps, o *Options) error {
	cfg := captureConfig{
		ProxyCgroupId: o.ProxyCgroupID,
		ProxyUid:      0xffffffff,
		OutboundPort:  o.OutboundPort,
		InboundPort:   o.InboundPort,
		TunnelPort:    o.TunnelPort,
		Mode:          uint16(o.Mode),
	}
	if o.ProxyUID >= 0 {
		cfg.ProxyUid = uint32(o.ProxyUID)
	}
	if o.Accelerate {
		cfg.Accelerate = 1
	}
	setPodIPs(&cfg, o.PodIPs)
	if err := m.Settings.Put(uint32(0), cfg); err != nil {
		return fmt.Errorf("write settings: %w", err)
	}
	if err := putPorts(m.ExcludedOutPorts, o.ExcludeOutboundPorts); err != nil {
		return fmt.Errorf("excluded outbound ports: %w", err)
	}
	if err := putPorts(m.ExcludedInPorts, append([]uint16{AdminPort}, o.ExcludeInboundPorts...)); err != nil {
		return fmt.Errorf("excluded inbound ports: %w", err)
	}
	if err := putCIDRs(m, o.ExcludeCIDRs); err != nil {
		return fmt.Errorf("excluded cidrs: %w", err)
	}
	if err := putPodIPs(m.PodIps, o.PodIPs); err != nil {
		return fmt.Errorf("pod ips: %w", err)
	}
	return nil
}

func putPorts(m *ebpf.Map, ports []uint16) error {
	for _, p := range ports {
		if err := m.Put(p, uint8(1)); err != nil {
			return fmt.Errorf("port %d: %w", p, err)
		}
	}
	return nil
}

func putCIDRs(m *captureMaps, cidrs []netip.Prefix) error {
	for _, p := range cidrs {
		p = p.Masked()
		var err error
		if p.Addr().Unmap().Is4() {
			a := p.Addr().Unmap().As4()
			bits := p.Bits()
			if p.Addr().Is4In6() {
				bits -= 96
			}
			err = m.ExcludedCidr4.Put(captureLpm4{Prefixlen: uint32(bits), Ip: binary.NativeEndian.Uint32(a[:])}, uint8(1))
		} else {
			err = m.ExcludedCidr6.Put(captureLpm6{Prefixlen: uint32(p.Bits()), Ip: ip6Words(p.Addr())}, uint8(1))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

func putPodIPs(m *ebpf.Map, ips []netip.Addr) error {
	for _, ip := range ips {
		ip = ip.Unmap()
		k := captureLpm6{Prefixlen: afInet6, Ip: ip6Words(ip)}
		if ip.Is4() {
			a := ip.As4()
			k = captureLpm6{Prefixlen: afInet, Ip: [4]uint32{binary.NativeEndian.Uint32(a[:])}}
		}
		if err := m.Put(k, uint8(1)); err != nil {
			return fmt.Errorf("%s: %w", ip, err)
		}
	}
	return nil
}

// ip6Words lays an address out the way the kernel's __u32[4] holds it (network order
// bytes in memory).
func ip6Words(a netip.Addr) [4]uint32 {
	b := a.As16()
	var w [4]uint32
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[i*4:])
	}
	return w
}

// setPodIPs records the first IPv4 and IPv6 pod address for getsockname.
func setPodIPs(cfg *captureConfig, ips []netip.Addr) {
	for i := len(ips) - 1; i >= 0; i-- {
		ip := ips[i].Unmap()
		if ip.Is4() {
			a := ip.As4()
			cfg.PodIp4 = binary.NativeEndian.Uint32(a[:])
		} else {
			cfg.PodIp6 = ip6Words(ip)
		}
	}
}
