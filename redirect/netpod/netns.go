package netpod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// NSPath is where `ip netns add` keeps a named namespace.
func NSPath(name string) string { return filepath.Join("/run/netns", name) }

// addNetNS creates a named namespace with lo up, deleted at Close.
func (e *Env) addNetNS(name string) error {
	if err := Run(LookTool("ip"), "netns", "add", name); err != nil {
		return fmt.Errorf("netpod: %w", err)
	}
	e.OnClose(func() error { return delNetNS(NSPath(name)) })
	return IP(name, "link set lo up")
}

// AddNetNS creates a named namespace (under /run/netns) with lo up, for a
// harness that keeps it beyond one Env (DelNetNS removes it).
func AddNetNS(name string) error {
	if err := Run(LookTool("ip"), "netns", "add", name); err != nil {
		return fmt.Errorf("netpod: %w", err)
	}
	return IP(name, "link set lo up")
}

// DelNetNS deletes a named namespace, if it exists.
func DelNetNS(name string) error {
	if _, err := os.Stat(NSPath(name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return delNetNS(NSPath(name))
}

// HostLink is a veth pair from the host's namespace into a named one, for a
// namespace the host itself must reach (a cluster node), where pods of an Env
// hang off its private bridge instead.
type HostLink struct {
	NS         string       // the namespace the Peer end goes into
	Host, Peer string       // the ends' names
	HostAddr   netip.Prefix // the host end's address, e.g. 198.19.255.1/30
	PeerAddr   netip.Prefix // the peer end's address
}

// AddHostLink creates the pair, addresses both ends and brings them up.
// Deleting the namespace removes the pair (RemoveHostLink covers the rest).
func AddHostLink(l HostLink) error {
	ip := LookTool("ip")
	for _, args := range [][]string{
		{"link", "add", l.Host, "type", "veth", "peer", "name", l.Peer, "netns", l.NS},
		{"addr", "add", l.HostAddr.String(), "dev", l.Host},
		{"link", "set", l.Host, "up"},
	} {
		if err := Run(ip, args...); err != nil {
			return fmt.Errorf("netpod: host link: %w", err)
		}
	}
	return IP(l.NS, "addr add "+l.PeerAddr.String()+" dev "+l.Peer, "link set "+l.Peer+" up")
}

// RemoveHostLink deletes the host end of a pair, if it is still there: deleting
// its namespace removes it too, asynchronously, so gone by now is fine.
func RemoveHostLink(host string) error {
	if _, err := net.InterfaceByName(host); err != nil {
		return nil
	}
	if err := Run(LookTool("ip"), "link", "del", host); err != nil {
		if _, gone := net.InterfaceByName(host); gone == nil {
			return fmt.Errorf("netpod: %w", err)
		}
	}
	return nil
}

// IP runs `ip -n ns -batch -` with one command per line, in the named namespace.
func (e *Env) IP(ns string, cmds ...string) error { return IP(ns, cmds...) }

// IP runs `ip -n ns -batch -` with one command per line, in the named namespace.
func IP(ns string, cmds ...string) error {
	c := exec.Command(LookTool("ip"), "-n", ns, "-batch", "-")
	c.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("netpod: ip -n %s %q: %v: %s", ns, cmds, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Exec runs a command inside the namespace at path nsPath (the host's when empty)
// and returns its combined output. It uses nsenter --net rather than
// `ip netns exec`, which remounts /sys and hides the cgroup2 mount.
func Exec(nsPath, name string, args ...string) (string, error) {
	c := exec.Command(LookTool(name), args...)
	if nsPath != "" {
		c = exec.Command(LookTool("nsenter"), append([]string{"--net=" + nsPath, "--", LookTool(name)}, args...)...)
	}
	out, err := c.CombinedOutput()
	return string(out), err
}

// Run runs a command and returns an error holding its output when it fails.
func Run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// LookTool finds a system tool on PATH or in the sbin folders sudo and cron drop;
// it returns name itself when it finds none.
func LookTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	return name
}

// HaveTool reports whether LookTool finds name.
func HaveTool(name string) bool { return fileExists(LookTool(name)) }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// InNetNS runs f on a thread switched into the named namespace; sockets f creates
// stay in that namespace for their whole life. This is how a harness itself
// reaches pods (admin ports, a bundle server) without a helper process.
func InNetNS(name string, f func() error) error { return InNetNSPath(NSPath(name), f) }

// InNetNSPath is InNetNS for the namespace at a path (/run/netns/NAME,
// /proc/PID/ns/net).
func InNetNSPath(path string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not unlocked when switching back fails: Go then retires
		// it instead of reusing a thread stuck in the wrong namespace.
		back, err := switchNetNS(path)
		if err != nil {
			errc <- err
			return
		}
		ferr := f()
		if err := back(); err != nil {
			errc <- fmt.Errorf("netpod: return from netns %s: %w", path, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func switchNetNS(path string) (back func() error, err error) {
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return nil, fmt.Errorf("netpod: own netns: %w", err)
	}
	target, err := os.Open(path)
	if err != nil {
		self.Close()
		return nil, fmt.Errorf("netpod: netns %s: %w", path, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		self.Close()
		return nil, fmt.Errorf("netpod: setns %s: %w", path, err)
	}
	return func() error {
		defer self.Close()
		return unix.Setns(int(self.Fd()), unix.CLONE_NEWNET)
	}, nil
}

// HubDialer returns a DialContext whose sockets live in the hub namespace, for an
// http.Transport that talks to pods.
func (e *Env) HubDialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := InNetNS(e.Hub, func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// ListenHub opens a TCP listener (without MPTCP) in the hub namespace on the
// bridge address.
func (e *Env) ListenHub(port int) (net.Listener, error) {
	var ln net.Listener
	err := InNetNS(e.Hub, func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", fmt.Sprintf("%s:%d", e.HubIP, port))
		return err
	})
	return ln, err
}
