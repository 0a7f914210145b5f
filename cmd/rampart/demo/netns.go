package demo

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// nsPath is where `ip netns add` keeps a named namespace.
func nsPath(name string) string { return filepath.Join("/run/netns", name) }

// addNetNS creates a named namespace with lo up, deleted at Close.
func (e *Env) addNetNS(name string) error {
	if err := run(lookTool("ip"), "netns", "add", name); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	e.onClose(func() error { return delNetNS(nsPath(name)) })
	return e.ip(name, "link set lo up")
}

// ip runs `ip -n ns -batch -` with one command per line.
func (e *Env) ip(ns string, cmds ...string) error {
	c := exec.Command(lookTool("ip"), "-n", ns, "-batch", "-")
	c.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("demo: ip -n %s %q: %v: %s", ns, cmds, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// lookTool finds a system tool on PATH or in the sbin folders sudo and cron drop.
func lookTool(name string) string {
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

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// inNetNS runs f on a thread switched into the named namespace; sockets f creates
// stay in that namespace for their whole life. This is how the harness itself
// reaches pods (admin ports, the bundle server) without a helper process.
func inNetNS(name string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not unlocked when switching back fails: Go then retires
		// it instead of reusing a thread stuck in the wrong namespace.
		back, err := switchNetNS(name)
		if err != nil {
			errc <- err
			return
		}
		ferr := f()
		if err := back(); err != nil {
			errc <- fmt.Errorf("demo: return from netns %s: %w", name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func switchNetNS(name string) (back func() error, err error) {
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return nil, fmt.Errorf("demo: own netns: %w", err)
	}
	target, err := os.Open(nsPath(name))
	if err != nil {
		self.Close()
		return nil, fmt.Errorf("demo: netns %s: %w", name, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		self.Close()
		return nil, fmt.Errorf("demo: setns %s: %w", name, err)
	}
	return func() error {
		defer self.Close()
		return unix.Setns(int(self.Fd()), unix.CLONE_NEWNET)
	}, nil
}

// hubDialer returns a DialContext whose sockets live in the hub namespace, for an
// http.Transport that talks to pods.
func (e *Env) hubDialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := inNetNS(e.Hub, func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// listenHub opens a TCP listener in the hub namespace on the bridge address.
func (e *Env) listenHub(port int) (net.Listener, error) {
	var ln net.Listener
	err := inNetNS(e.Hub, func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", fmt.Sprintf("%s:%d", e.HubIP, port))
		return err
	})
	return ln, err
}
