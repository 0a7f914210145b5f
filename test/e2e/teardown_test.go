package e2e_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/demo"
)

// TestTeardownLeavesNothing builds the whole scenario, closes it, and looks for
// anything left: namespaces, cgroups, pins, files, processes.
func TestTeardownLeavesNothing(t *testing.T) {
	env := newEnv(t)
	if _, err := demo.StartStarWars(env, demo.StarWarsOptions{}); err != nil {
		t.Fatal(err)
	}
	pids := cgroupPIDs(t, env.Cgroup)
	if len(pids) < 9 { // 4 proxies, 2 deathstars, 3 clients
		t.Fatalf("only %d processes in the run's cgroups", len(pids))
	}
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, env.Prefix, pids)
}

// TestSweepRemovesStaleRuns fakes what a killed run leaves (a namespace, a cgroup
// with a live process, a pin folder, a work folder, all named after a dead
// process) and checks that Sweep removes it and leaves a live run's alone.
func TestSweepRemovesStaleRuns(t *testing.T) {
	newEnv(t) // root, cgroup2, bpffs
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("rpe2e%x-1", dead.Process.Pid)
	live := fmt.Sprintf("rpe2e%x-1", 1) // pid 1 is always alive
	var pids []int
	for _, name := range []string{stale, live} {
		pids = append(pids, leaveBehind(t, name))
	}
	if err := demo.Sweep("rpe2e"); err != nil {
		t.Fatal(err)
	}
	assertGone(t, stale, pids[:1])
	if _, err := os.Stat(filepath.Join(cgroupRoot(t), live)); err != nil {
		t.Errorf("the live run's cgroup was swept: %v", err)
	}
	if syscall.Kill(pids[1], 0) != nil {
		t.Error("the live run's process was killed")
	}
}

// leaveBehind creates a run's leftovers named name and returns the pid of a
// process left in its cgroup. The test's cleanup removes them if Sweep did not.
func leaveBehind(t *testing.T, name string) int {
	t.Helper()
	cg := filepath.Join(cgroupRoot(t), name)
	dirs := []string{filepath.Join(cg, "pod", "proxy"), filepath.Join("/sys/fs/bpf", name), filepath.Join(os.TempDir(), name)}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("ip", "netns", "add", name+"-hub").CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	f, err := os.Open(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sleep := exec.Command("sleep", "600")
	sleep.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	go sleep.Wait() // reap it, so a kill shows
	t.Cleanup(func() {
		_ = sleep.Process.Kill()
		time.Sleep(50 * time.Millisecond)
		_ = exec.Command("ip", "netns", "del", name+"-hub").Run()
		for _, d := range append(dirs, filepath.Join(cg, "pod"), cg) {
			_ = os.RemoveAll(d)
		}
		_ = os.Remove(filepath.Join(cg, "pod", "proxy"))
		_ = os.Remove(filepath.Join(cg, "pod"))
		_ = os.Remove(cg)
	})
	return sleep.Process.Pid
}

// assertGone fails when anything named with prefix, or any of pids, is left.
func assertGone(t *testing.T, prefix string, pids []int) {
	t.Helper()
	for _, dir := range []string{"/run/netns", cgroupRoot(t), "/sys/fs/bpf", os.TempDir()} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				t.Errorf("left behind: %s", filepath.Join(dir, e.Name()))
			}
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("process %d still running", pid)
		}
	}
}

// alive reports whether pid runs (zombies awaiting their parent's wait count as
// gone: they hold nothing).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func cgroupRoot(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fl := strings.Fields(s.Text()); len(fl) > 2 && fl[2] == "cgroup2" {
			return fl[1]
		}
	}
	t.Fatal("no cgroup2 mount")
	return ""
}

// cgroupPIDs lists the processes in dir and its children.
func cgroupPIDs(t *testing.T, dir string) []int {
	t.Helper()
	var pids []int
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return err
		}
		b, err := os.ReadFile(path)
		for _, l := range strings.Fields(string(b)) {
			if pid, perr := strconv.Atoi(l); perr == nil {
				pids = append(pids, pid)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pids
}
