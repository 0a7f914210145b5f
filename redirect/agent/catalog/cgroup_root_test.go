package catalog_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rampart-mesh/rampart/redirect/agent"
	"github.com/rampart-mesh/rampart/redirect/agent/catalog"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestCallerCgroup identifies callers the way rampart-node does, through the
// kernel: curl runs inside a cgroup laid out as the kubelet's cgroupfs driver
// lays out pod xwing's (…/kubepods/besteffort/pod<uid>/<container>) and gets
// alliance's data only; curl in no pod cgroup, and in the cgroup of a pod of
// another node, get 403.
func TestCallerCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		support.Need(t, "needs root (creates cgroups)")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		support.Need(t, "needs curl")
	}
	root, err := agent.Cgroup2Root("/proc/self/mountinfo")
	if err != nil {
		support.Need(t, "no cgroup2 mount: "+err.Error())
	}
	c := apiClient(t)
	cl := makeCluster(t, c, "cg-", 9)
	sock := serve(t, catalog.Options{Client: c, Node: "node-a"}) // the real PodUIDOf
	base := filepath.Join(root, fmt.Sprintf("rampart-catalog-test-%d", os.Getpid()), "kubepods", "besteffort")
	t.Cleanup(func() { _ = removeTree(filepath.Dir(filepath.Dir(base))) })

	run := func(cgroup string) string {
		t.Helper()
		cmd := exec.Command(curl, "-sN", "--max-time", "3", "--unix-socket", sock, "-w", "\n%{http_code}", "http://node/v1/watch")
		if cgroup != "" {
			if err := os.MkdirAll(cgroup, 0o755); err != nil {
				t.Fatal(err)
			}
			fd, err := syscall.Open(cgroup, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Close(fd)
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
		}
		out, _ := cmd.Output() // curl exits 28 when --max-time ends the stream
		return string(out)
	}
	out := run(filepath.Join(base, "pod"+cl.uids["xwing"], "c1"))
	first, _, _ := strings.Cut(out, "\n")
	var m catalog.Message
	if err := json.Unmarshal([]byte(first), &m); err != nil {
		t.Fatalf("xwing's stream: %v: %q", err, out)
	}
	if !m.Full || len(m.Workloads) != 1 || m.Workloads[0].Namespace != "cg-alliance" || len(m.Services) != 1 ||
		strings.Contains(out, "empire") || strings.Contains(out, "198.18.9.2") {
		t.Errorf("xwing sees more than alliance: %s", out)
	}
	if out := run(""); !strings.HasSuffix(out, "403") {
		t.Errorf("a process in no pod: %q, want 403", out)
	}
	if out := run(filepath.Join(base, "pod"+cl.uids["elsewhere"], "c1")); !strings.HasSuffix(out, "403") {
		t.Errorf("a pod of node-b: %q, want 403", out)
	}
}

// removeTree removes a cgroup folder tree (rmdir only: cgroup files cannot be unlinked).
func removeTree(dir string) error {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			_ = removeTree(filepath.Join(dir, e.Name()))
		}
	}
	return os.Remove(dir)
}
