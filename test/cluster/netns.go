package cluster

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// inNode runs a command inside the node's netns.
func (s state) inNode(args ...string) error {
	if out, err := netpod.Exec(s.netnsPath(), args[0], args[1:]...); err != nil {
		return fmt.Errorf("%v: %w: %s", args, err, out)
	}
	return nil
}

// makeNetwork creates the node netns and the veth pair (netpod's host link):
// the host keeps <name>h with the /30's first address, the node gets <name>n
// with the second. Inside the node: forwarding on, and the Service range routed
// to lo, so that a node process's connect to a VIP has a route before
// kube-proxy's OUTPUT DNAT rewrites it; a VIP without endpoints goes nowhere
// (the node has no default route, and the kernel here has no dummy device).
func makeNetwork(s state) error {
	a := s.addrs()
	if err := netpod.AddNetNS(s.Name); err != nil {
		return fmt.Errorf("cluster: network: %w", err)
	}
	if err := netpod.AddHostLink(netpod.HostLink{NS: s.Name, Host: s.hostLink(), Peer: s.nodeLink(),
		HostAddr: netip.PrefixFrom(a.Host, 30), PeerAddr: netip.PrefixFrom(a.Node, 30)}); err != nil {
		return fmt.Errorf("cluster: network: %w", err)
	}
	if err := netpod.IP(s.Name, "route add "+serviceCIDR+" dev lo src "+a.Node.String()); err != nil {
		return fmt.Errorf("cluster: node network: %w", err)
	}
	if err := s.inNode("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.route_localnet=1"); err != nil {
		return fmt.Errorf("cluster: node network: %w", err)
	}
	return nil
}

// removeNetwork deletes the netns (its veth end and with it the pair) and the
// host link should it be left.
func removeNetwork(s state) error {
	return errors.Join(netpod.DelNetNS(s.Name), netpod.RemoveHostLink(s.hostLink()))
}

// listenIn opens a TCP listener inside the netns at nsPath. The socket keeps
// its namespace for life, so Accept may run on any thread afterwards.
func listenIn(nsPath, addr string) (net.Listener, error) {
	var ln net.Listener
	err := netpod.InNetNSPath(nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}
