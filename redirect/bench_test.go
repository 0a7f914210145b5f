package redirect_test

import (
	"fmt"
	"net/netip"
	"os"
	"testing"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
)

// benchNet has a server pod S and one client pod per way of reaching it: direct,
// iptables REDIRECT to a local proxy, eBPF capture to a local proxy, and eBPF capture
// with the sk_msg short-circuit. Both proxies call SO_ORIGINAL_DST and answer with
// one line, as S does.
type benchNet struct {
	env                      *podtest.Env
	s, direct, ipt, ebpf, sk *podtest.Pod
}

func newBenchNet(b *testing.B) *benchNet {
	b.Helper()
	env := podtest.New(b, "rdb")
	n := &benchNet{env: env}
	pod := func(name string, host byte) *podtest.Pod {
		return env.Pod(name, netip.AddrFrom4([4]byte{198, 18, 6, host}), netip.Addr{})
	}
	n.s, n.direct, n.ipt = pod("s", 200), pod("d", 201), pod("i", 202)
	n.ebpf, n.sk = pod("e", 203), pod("k", 204)
	start(b, n.s, n.s.AppCgroup, "serve", ":80")
	start(b, n.s, n.s.AppCgroup, "echo", ":81", "loop")
	podtest.RequireTool(b, "iptables")
	if out, err := env.Exec(n.ipt.NetNS, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp",
		"-d", "198.18.6.0/24", "-m", "owner", "!", "--uid-owner", "1337", "-j", "REDIRECT", "--to-ports", "15001"); err != nil {
		b.Fatalf("iptables: %v %s", err, out)
	}
	start(b, n.ipt, n.ipt.ProxyCgroup, "serve", "127.0.0.1:15001")
	root := pinRootB(b, env.Prefix)
	for _, p := range []*podtest.Pod{n.ebpf, n.sk} {
		h, err := redirect.Attach(redirect.Options{
			Name: p.Name, PinRoot: root, CgroupPath: p.Cgroup, ProxyCgroupID: cgroupIDB(b, p.ProxyCgroup),
			Accelerate: p == n.sk,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = h.Close() })
	}
	return n
}

func start(b *testing.B, p *podtest.Pod, cgroup string, args ...string) *podtest.Proc {
	b.Helper()
	pr := p.Start(b, cgroup, args...)
	if l := pr.Line(); l != "READY" {
		b.Fatalf("%v: %q", args, l)
	}
	return pr
}

func pinRootB(b *testing.B, prefix string) string {
	b.Helper()
	if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
		b.Fatal(err)
	}
	dir := redirect.BPFFSRoot + "/" + prefix
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func cgroupIDB(b *testing.B, path string) uint64 {
	id, err := redirect.CgroupID(path)
	if err != nil {
		b.Fatal(err)
	}
	return id
}

// run times b.N operations of a helper already waiting for a count on stdin.
func run(b *testing.B, p *podtest.Proc) {
	b.Helper()
	b.ResetTimer()
	fmt.Fprintln(p.Stdin(), b.N)
	if l := p.Line(); l != "done" {
		b.Fatalf("bench helper: %s", l)
	}
}

// BenchmarkConnectFirstByte: connect, read the first byte of the answer, close —
// direct to S, through a local proxy by iptables REDIRECT, and by eBPF capture.
func BenchmarkConnectFirstByte(b *testing.B) {
	n := newBenchNet(b)
	start(b, n.ebpf, n.ebpf.ProxyCgroup, "serve", "127.0.0.1:15001")
	to := n.s.IP4.String() + ":80"
	for _, c := range []struct {
		name string
		pod  *podtest.Pod
	}{{"direct", n.direct}, {"iptables", n.ipt}, {"ebpf", n.ebpf}} {
		b.Run(c.name, func(b *testing.B) {
			p := start(b, c.pod, c.pod.AppCgroup, "bench", to)
			run(b, p)
		})
	}
}

// BenchmarkAppProxyRoundTrip is the sk_msg experiment: round trips of 1 KiB and
// 64 KiB between an app and its (echoing) proxy over one captured connection, with
// and without the short-circuit, and direct to an echo server in S for scale.
func BenchmarkAppProxyRoundTrip(b *testing.B) {
	n := newBenchNet(b)
	start(b, n.ebpf, n.ebpf.ProxyCgroup, "echo", "127.0.0.1:15001", "loop")
	start(b, n.sk, n.sk.ProxyCgroup, "echo", "127.0.0.1:15001", "loop")
	to := n.s.IP4.String() + ":81"
	for _, size := range []string{"1024", "65536"} {
		for _, c := range []struct {
			name string
			pod  *podtest.Pod
		}{{"direct", n.direct}, {"ebpf", n.ebpf}, {"ebpf+sk_msg", n.sk}} {
			b.Run(c.name+"/"+size, func(b *testing.B) {
				p := start(b, c.pod, c.pod.AppCgroup, "benchecho", to, size)
				run(b, p)
			})
		}
	}
}
