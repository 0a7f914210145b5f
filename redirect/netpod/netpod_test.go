package netpod_test

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/redirect/netpod"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestPodTalksAndCloseLeavesNothing: two pods on one bridge reach each other (a
// ping from inside the first), a process is born in the pod's app cgroup, and
// Close removes every namespace, cgroup, folder and process it made.
func TestPodTalksAndCloseLeavesNothing(t *testing.T) {
	needRoot(t)
	env, err := netpod.New(netpod.Options{Tag: "npt", Subnet: netip.MustParsePrefix("198.18.40.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	a, err := env.AddPod(netpod.PodSpec{Name: "a", Addrs: []netip.Prefix{netip.MustParsePrefix("198.18.40.1/24")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.AddPod(netpod.PodSpec{Name: "b", Addrs: []netip.Prefix{netip.MustParsePrefix("198.18.40.2/24")}})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	if err := netpod.InNetNS(b.NetNS, func() (err error) { ln, err = net.Listen("tcp", "198.18.40.2:80"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := netpod.InNetNS(a.NetNS, func() error {
		c, err := net.DialTimeout("tcp", "198.18.40.2:80", 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Fatalf("a cannot reach b across the bridge: %v", err)
	}
	p, err := env.Start(netpod.ProcSpec{Name: "sleeper", NetNS: a.NetNSPath(), Cgroup: a.AppCgroup,
		Argv: []string{netpod.LookTool("sleep"), "600"}})
	if err != nil {
		t.Fatal(err)
	}
	procs, err := os.ReadFile(filepath.Join(a.AppCgroup, "cgroup.procs"))
	if err != nil || !strings.Contains(string(procs), strconv.Itoa(p.Pid())) {
		t.Errorf("pid %d not in the app cgroup: %q %v", p.Pid(), procs, err)
	}
	if err := env.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Error("process still running after Close")
	}
	for _, path := range []string{netpod.NSPath(env.Hub), a.NetNSPath(), env.Cgroup, env.Dir} {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s left after Close", path)
		}
	}
	if err := syscall.Kill(p.Pid(), 0); err == nil {
		t.Errorf("process %d left after Close", p.Pid())
	}
}

// needRoot skips (fails under CI=true) without root or the tools pods need.
func needRoot(t *testing.T) {
	t.Helper()
	support.RequireRoot(t, "needs root (network namespaces, cgroups)")
	for _, tool := range []string{"ip", "nsenter", "sleep"} {
		if !netpod.HaveTool(tool) {
			support.Need(t, tool+" not installed")
		}
	}
}
