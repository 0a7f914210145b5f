package netpod_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/redirect/netpod"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestStandalonePieces: what a harness outliving one Env builds (test/cluster's
// node) works and goes away: a namespace the host reaches over its own veth
// pair, a cgroup in every hierarchy, a detached process born in it (its own
// process group, no parent-death signal) and killed through it.
func TestStandalonePieces(t *testing.T) {
	needRoot(t)
	name := fmt.Sprintf("npsa%x", os.Getpid())
	link := netpod.HostLink{NS: name, Host: name + "h", Peer: name + "n",
		HostAddr: netip.MustParsePrefix("198.18.41.1/30"), PeerAddr: netip.MustParsePrefix("198.18.41.2/30")}
	cleanup := func() {
		_ = netpod.KillCgroupEverywhere(name)
		_ = netpod.RemoveCgroupEverywhere(name)
		_ = netpod.DelNetNS(name)
		_ = netpod.RemoveHostLink(link.Host)
	}
	t.Cleanup(cleanup)
	if err := netpod.AddNetNS(name); err != nil {
		t.Fatal(err)
	}
	if err := netpod.AddHostLink(link); err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	if err := netpod.InNetNS(name, func() (err error) { ln, err = net.Listen("tcp", "198.18.41.2:80"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.DialTimeout("tcp", "198.18.41.2:80", 5*time.Second)
	if err != nil {
		t.Fatalf("the host cannot reach the namespace over its link: %v", err)
	}
	c.Close()

	cg, err := netpod.MakeCgroupEverywhere(name)
	if err != nil {
		t.Fatal(err)
	}
	all, _, err := netpod.Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range all {
		if _, err := os.Stat(filepath.Join(h, name)); err != nil {
			t.Errorf("no cgroup in hierarchy %s: %v", h, err)
		}
	}
	cmd, err := netpod.StartCmd(netpod.ProcSpec{Name: "sleeper", NetNS: netpod.NSPath(name), Cgroup: cg,
		Argv: []string{netpod.LookTool("sleep"), "600"}, Detach: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { cmd.Wait(); close(waited) }()
	if pgid, _ := syscall.Getpgid(cmd.Process.Pid); pgid != cmd.Process.Pid {
		t.Errorf("detached process in group %d, not its own", pgid)
	}
	if pids := netpod.CgroupPids(cg); len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Errorf("cgroup holds %v, want [%d]", pids, cmd.Process.Pid)
	}
	// nsenter, the process until it execs sleep, enters the namespace first.
	support.EventuallyWithin(t, 5*time.Second, "the process in the namespace", func() bool {
		return nsOf(t, strconv.Itoa(cmd.Process.Pid)) != nsOf(t, "self")
	})
	if err := netpod.KillCgroupEverywhere(name); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("process alive after KillCgroupEverywhere")
	}
	cleanup()
	for _, h := range all {
		if _, err := os.Stat(filepath.Join(h, name)); err == nil {
			t.Errorf("cgroup left in %s", h)
		}
	}
	if _, err := os.Stat(netpod.NSPath(name)); err == nil {
		t.Error("namespace left")
	}
	if _, err := net.InterfaceByName(link.Host); err == nil {
		t.Error("host link left")
	}
}

func nsOf(t *testing.T, pid string) string {
	t.Helper()
	s, err := os.Readlink("/proc/" + pid + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
