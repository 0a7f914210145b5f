package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// run runs a command and returns its combined output in the error.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// inNode runs a command inside the node's netns.
func (s state) inNode(args ...string) error {
	return run("nsenter", append([]string{"--net=" + s.netnsPath(), "--"}, args...)...)
}

// makeNetwork creates the node netns and the veth pair: the host keeps
// <name>h with the /30's first address, the node gets <name>n with the second.
// Inside the node: loopback up, forwarding on, and the Service range routed to
// lo, so that a node process's connect to a VIP has a route before kube-proxy's
// OUTPUT DNAT rewrites it; a VIP without endpoints goes nowhere (the node has no
// default route, and the kernel here has no dummy device).
func makeNetwork(s state) error {
	a := s.addrs()
	steps := [][]string{
		{"ip", "netns", "add", s.Name},
		{"ip", "link", "add", s.hostLink(), "type", "veth", "peer", "name", s.nodeLink(), "netns", s.Name},
		{"ip", "addr", "add", a.Host.String() + "/30", "dev", s.hostLink()},
		{"ip", "link", "set", s.hostLink(), "up"},
	}
	for _, st := range steps {
		if err := run(st[0], st[1:]...); err != nil {
			return fmt.Errorf("cluster: network: %w", err)
		}
	}
	node := [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "addr", "add", a.Node.String() + "/30", "dev", s.nodeLink()},
		{"ip", "link", "set", s.nodeLink(), "up"},
		{"ip", "route", "add", serviceCIDR, "dev", "lo", "src", a.Node.String()},
		{"sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.route_localnet=1"},
	}
	for _, st := range node {
		if err := s.inNode(st...); err != nil {
			return fmt.Errorf("cluster: node network: %w", err)
		}
	}
	return nil
}

// removeNetwork deletes the netns (its veth end and with it the pair) and the
// host link should it be left.
func removeNetwork(s state) error {
	var errs []error
	if _, err := os.Stat(s.netnsPath()); err == nil {
		if err := run("ip", "netns", "del", s.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := net.InterfaceByName(s.hostLink()); err == nil {
		// Deleting the netns removes the pair asynchronously: gone by now is fine.
		if err := run("ip", "link", "del", s.hostLink()); err != nil {
			if _, gone := net.InterfaceByName(s.hostLink()); gone == nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
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
