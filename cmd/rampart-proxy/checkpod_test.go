package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/test/support"
)

// checkPod is a pod on the real kernel for the capture check: a network namespace
// whose eth0 is a veth to a peer namespace holding its default gateway (so a
// packet that left the pod is counted there), and a cgroup v2 folder with "app"
// and "proxy" children, as a kubelet pod has one per container.
type checkPod struct {
	t                  *testing.T
	name, ns, peer     string // name prefix; namespace paths
	bin                string // the rampart-proxy binary
	cgroup, app, proxy string
}

const (
	checkPodIP   = "198.18.232.2"
	checkPeerIP  = "198.18.232.1"
	checkProxyID = 1337 // the proxy's uid (DESIGN.md contract)
	checkAppID   = 1338 // the rampart-check container's uid
)

func newCheckPod(t *testing.T) *checkPod {
	t.Helper()
	support.RequireRoot(t, "network namespaces, cgroups and eBPF need root")
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	p := &checkPod{t: t, name: "rpck" + hex.EncodeToString(b)}
	p.ns, p.peer = p.netns(p.name), p.netns(p.name+"p")
	p.ip(p.ns, "link add eth0 type veth peer name eth0 netns "+p.name+"p")
	p.ip(p.ns, "addr add "+checkPodIP+"/30 dev eth0")
	p.ip(p.peer, "addr add "+checkPeerIP+"/30 dev eth0")
	p.ip(p.ns, "link set eth0 up")
	p.ip(p.peer, "link set eth0 up")
	p.ip(p.ns, "route add default via "+checkPeerIP)
	root, err := redirect.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	p.cgroup = filepath.Join(root, p.name)
	p.app, p.proxy = filepath.Join(p.cgroup, "app"), filepath.Join(p.cgroup, "proxy")
	for _, d := range []string{p.cgroup, p.app, p.proxy} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, d := range []string{p.app, p.proxy, p.cgroup} {
			_ = os.Remove(d) // the processes were killed and waited for by then
		}
	})
	return p
}

// netns creates a namespace with lo up and IPv6 off (no router solicitations or
// DAD to count as traffic), removed at cleanup.
func (p *checkPod) netns(name string) string {
	p.t.Helper()
	run(p.t, "ip", "netns", "add", name)
	p.t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	path := "/run/netns/" + name
	run(p.t, "nsenter", "--net="+path, "sh", "-c", "echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && "+
		"echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6")
	p.ip(path, "link set lo up")
	return path
}

func (p *checkPod) ip(ns, args string) {
	p.t.Helper()
	run(p.t, "nsenter", append([]string{"--net=" + ns, "ip"}, strings.Fields(args)...)...)
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// peerRx counts the packets the gateway namespace has received from the pod.
func (p *checkPod) peerRx() int {
	p.t.Helper()
	out, err := exec.Command("nsenter", "--net="+p.peer, "cat", "/proc/net/dev").Output()
	if err != nil {
		p.t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if name, rest, ok := strings.Cut(strings.TrimSpace(l), ":"); ok && name == "eth0" {
			if f := strings.Fields(rest); len(f) > 1 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	p.t.Fatalf("no eth0 in the peer's /proc/net/dev:\n%s", out)
	return 0
}

// command prepares argv to run in the pod's namespace, inside cgroup (fixed at
// clone, so no socket is ever opened outside it), as uid:gid id.
func (p *checkPod) command(cgroup string, id int, argv ...string) *exec.Cmd {
	p.t.Helper()
	cg, err := os.Open(cgroup)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { cg.Close() })
	s := strconv.Itoa(id)
	cmd := exec.Command("nsenter", append([]string{"--net=" + p.ns, "-S", s, "-G", s}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Pdeathsig: syscall.SIGKILL}
	return cmd
}

// startProxy runs the real proxy as uid 1337 in the proxy cgroup, with only the
// outbound capture listener, and waits until it listens.
func (p *checkPod) startProxy(bin string) {
	p.t.Helper()
	cmd := p.command(p.proxy, checkProxyID, bin, "--bundle", "../../sidecar/testdata/landing",
		"--listen-outbound", "127.0.0.1:15001", "--listen-admin", "127.0.0.1:15020")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	p.t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			p.t.Fatalf("proxy exited: %v", err)
		default:
		}
		f, err := redirect.FindListener(p.proxy, redirect.OutboundPort)
		if err == nil {
			f.Close()
			return
		}
		if !errors.Is(err, redirect.ErrNoListener) {
			p.t.Fatal(err)
		}
	}
	p.t.Fatal("proxy not listening on 15001 after 20s")
}

// attach captures the pod with the real redirect package, the proxy cgroup exempt.
func (p *checkPod) attach(opts redirect.Options) *redirect.Handle {
	p.t.Helper()
	if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
		p.t.Fatal(err)
	}
	pin := filepath.Join(redirect.BPFFSRoot, p.name)
	p.t.Cleanup(func() { _ = os.RemoveAll(pin) })
	id, err := redirect.CgroupID(p.proxy)
	if err != nil {
		p.t.Fatal(err)
	}
	opts.Name, opts.PinRoot, opts.CgroupPath, opts.NetNSPath = p.name, pin, p.cgroup, p.ns
	opts.ProxyCgroupID = id
	h, err := redirect.Attach(opts)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = h.Close() })
	return h
}
