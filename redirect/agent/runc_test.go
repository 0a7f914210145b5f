package agent_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rampart-mesh/rampart/redirect/agent"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
)

// TestHybridRunc starts a pod's containers with the machine's runc (Debian's 1.1.5
// in CI) as containerd's runc shim does under kubelet's cgroupfs driver: cgroupsPath
// /<test>/kubepods/besteffort/pod<uid>/<container id>, the sandbox in the pod's
// network namespace, the other containers joining /proc/<sandbox pid>/ns/net. On a
// hybrid machine (cgroup v1 controllers, cgroup2 at /sys/fs/cgroup/unified) it
// shows where runc puts them in the unified hierarchy, and that rampart-node finds
// the pod there, the sandbox's namespace through the pod cgroup, and captures an
// app container's connection into the proxy container.
func TestHybridRunc(t *testing.T) {
	podtest.RequireRoot(t)
	env := podtest.New(t, "agr")
	a := env.Pod("a", netip.MustParseAddr("198.18.6.140"), netip.Addr{})
	c := env.Pod("c", netip.MustParseAddr("198.18.6.141"), netip.Addr{})
	serve(t, c, c.AppCgroup, ":80")
	root, err := agent.Cgroup2Root("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	uid := types.UID("3c1f2a9e-7b4d-4e8a-9c61-0d5e7f2b8a41")
	rn := newRuncNode(t, "/"+env.Prefix+"/kubepods/besteffort/pod"+string(uid))
	pausePID := rn.run("sandbox0", a.NetNS, "serve").pid
	podNetNS := "/proc/" + strconv.Itoa(pausePID) + "/ns/net"
	rn.run("proxy1", podNetNS, "serve", "127.0.0.1:15001", ":15006")

	want := filepath.Join(rn.parent, "sandbox0")
	if got := unifiedPath(t, pausePID); got != want {
		t.Fatalf("sandbox's 0:: cgroup = %q, want %q (hybrid: %v)", got, want, hybrid(t))
	}
	t.Logf("runc put the sandbox at %s in the cgroup2 hierarchy at %s (hybrid: %v)", want, root, hybrid(t))
	podDir, err := agent.FindPodCgroup(root, string(uid))
	if err != nil || podDir != filepath.Join(root, rn.parent) {
		t.Fatalf("FindPodCgroup = %q, %v; want %q", podDir, err, filepath.Join(root, rn.parent))
	}
	netns, err := agent.NetNSOf(podDir)
	if err != nil || !sameFile(t, netns, a.NetNS) {
		t.Fatalf("NetNSOf = %q, %v; want the sandbox's namespace %s", netns, err, a.NetNS)
	}
	pod := readPod(t, "injected_strict.json")
	pod.UID = uid
	pod.Status.PodIPs = []corev1.PodIP{{IP: a.IP4.String()}}
	pod.Status.InitContainerStatuses[0].ContainerID = "containerd://proxy1"
	r, err := agent.New(agent.Options{CgroupRoot: root, PinRoot: newPinRoot(t, env), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(pod); err != nil {
		t.Fatalf("sync: %v", err)
	}
	toC := c.IP4.String() + ":80"
	if s := rn.dial(t, "app2", podNetNS, toC); s.Listener != "127.0.0.1:15001" || s.OrigDst != toC {
		t.Errorf("app container's A→C answered by %s orig %s, want the proxy container", s.Listener, s.OrigDst)
	}
	if err := r.Remove(string(uid)); err != nil {
		t.Fatal(err)
	}
	if s := rn.dial(t, "app3", podNetNS, toC); s.Listener != ":80" {
		t.Errorf("after remove A→C answered by %s, want C's app", s.Listener)
	}
}

// runcNode runs containers of one pod with runc, its state in a private --root.
type runcNode struct {
	runc, state, dir string
	parent           string // the pod's cgroupsPath
	t                *testing.T
}

func newRuncNode(t *testing.T, parent string) *runcNode {
	t.Helper()
	n := &runcNode{runc: podtest.RequireTool(t, "runc"), dir: t.TempDir(), parent: parent, t: t}
	n.state = filepath.Join(n.dir, "state")
	// runc removes only a container's own folders; the pod's and its parents stay in
	// every hierarchy (the unified ones go with the netpod Env's cgroup).
	t.Cleanup(func() { removeV1Cgroups(t, strings.Split(parent, "/")[1]) })
	return n
}

// runcContainer is a started container: its pid and its stdout lines.
type runcContainer struct {
	pid   int
	lines chan string
}

// run starts the test binary as container id, running a netpod helper, and waits
// for its first line when it is a server.
func (n *runcNode) run(id, netns string, helper ...string) runcContainer {
	n.t.Helper()
	bundle := filepath.Join(n.dir, id)
	n.writeBundle(bundle, id, netns, helper)
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		n.t.Fatal(err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		n.t.Fatal(err)
	}
	cmd := exec.Command(n.runc, "--root", n.state, "run", "-d", "--pid-file", filepath.Join(bundle, "pid"), "--bundle", bundle, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, os.Stderr
	n.t.Cleanup(func() {
		_ = stdinW.Close()
		_ = exec.Command(n.runc, "--root", n.state, "delete", "--force", id).Run()
		_ = stdoutR.Close()
	})
	err = cmd.Run()
	_ = stdinR.Close()
	_ = stdoutW.Close()
	if err != nil {
		n.t.Fatalf("runc run %s: %v", id, err)
	}
	b, err := os.ReadFile(filepath.Join(bundle, "pid"))
	if err != nil {
		n.t.Fatal(err)
	}
	ctr := runcContainer{lines: make(chan string, 16)}
	ctr.pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	go func() {
		s := bufio.NewScanner(stdoutR)
		for s.Scan() {
			ctr.lines <- s.Text()
		}
		close(ctr.lines)
	}()
	if helper[0] == "serve" {
		if l := ctr.line(n.t); l != "READY" {
			n.t.Fatalf("container %s: %q", id, l)
		}
	}
	return ctr
}

func (c runcContainer) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			t.Fatal("container exited without output")
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatal("container: no output after 20s")
	}
	return ""
}

// dial runs an app container that connects to addr once.
func (n *runcNode) dial(t *testing.T, id, netns, addr string) podtest.Served {
	t.Helper()
	res, err := podtest.ParseResult(n.run(id, netns, "dial", addr).line(t))
	if err != nil || res.Err != "" {
		t.Fatalf("dial %s: %v %s", addr, err, res.Err)
	}
	s, _ := podtest.ParseServed(res.Line)
	return s
}

// writeBundle lays out an OCI bundle whose root file system holds only the test
// binary and the host's libraries, bound read-only (no image, no busybox).
func (n *runcNode) writeBundle(bundle, id, netns string, helper []string) {
	n.t.Helper()
	rootfs := filepath.Join(bundle, "rootfs")
	mounts := []map[string]any{
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "mode=755", "size=1m"}},
		// envtest, linked into the test binary, makes a folder in /tmp at init.
		{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "size=1m"}},
		{"destination": "/t", "type": "bind", "source": testBinary(n.t), "options": []string{"bind", "ro"}},
	}
	for _, dir := range []string{"/proc", "/dev", "/tmp", "/usr", "/lib", "/lib64"} {
		if target, err := os.Readlink(dir); err == nil { // merged /usr: lib -> usr/lib
			n.must(os.MkdirAll(rootfs, 0o755))
			n.must(os.Symlink(target, filepath.Join(rootfs, dir)))
			continue
		}
		n.must(os.MkdirAll(filepath.Join(rootfs, dir), 0o755))
		if dir == "/usr" || dir == "/lib" || dir == "/lib64" {
			mounts = append(mounts, map[string]any{"destination": dir, "type": "bind", "source": dir, "options": []string{"rbind", "ro"}})
		}
	}
	n.must(os.WriteFile(filepath.Join(rootfs, "t"), nil, 0o755))
	spec := map[string]any{
		"ociVersion": "1.0.2",
		"hostname":   id,
		"root":       map[string]any{"path": "rootfs", "readonly": true},
		"process": map[string]any{
			"args": []string{"/t", "-test.run=^$"}, "cwd": "/", "user": map[string]int{"uid": 0, "gid": 0},
			"env": []string{"PATH=/usr/bin", podtest.HelperEnv(helper...)}, "noNewPrivileges": true,
		},
		"mounts": mounts,
		"linux": map[string]any{
			"cgroupsPath": n.parent + "/" + id,
			"namespaces": []map[string]string{
				{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network", "path": netns},
			},
		},
	}
	b, err := json.Marshal(spec)
	n.must(err)
	n.must(os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644))
}

func (n *runcNode) must(err error) {
	n.t.Helper()
	if err != nil {
		n.t.Fatal(err)
	}
}

func testBinary(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// unifiedPath is the "0::" line of /proc/<pid>/cgroup: the process's cgroup in the
// cgroup2 hierarchy.
func unifiedPath(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	t.Fatalf("no 0:: line in %q", b)
	return ""
}

// hybrid reports whether cgroup v1 hierarchies are mounted too.
func hybrid(t *testing.T) bool { return len(v1Mounts(t)) > 0 }

func v1Mounts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		pre, post, _ := strings.Cut(line, " - ")
		if f := strings.Fields(pre); len(f) > 4 && strings.HasPrefix(post, "cgroup ") {
			out = append(out, f[4])
		}
	}
	return out
}

// removeV1Cgroups removes the folder name and everything below it in every cgroup
// v1 hierarchy, deepest first (cgroup folders go with rmdir only).
func removeV1Cgroups(t *testing.T, name string) {
	for _, m := range v1Mounts(t) {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(m, name), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("remove cgroup %s: %v", dirs[i], err)
			}
		}
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	sa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(sa, sb)
}
