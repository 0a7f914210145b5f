package netpod

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/redirect"
)

// RequireRoot skips the test when not root, and fails it under CI=true.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		need(t, "needs root (network namespaces, cgroups, eBPF)")
	}
}

// RequireTool skips (fails under CI=true) when a binary is not on PATH.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if _, serr := os.Stat(filepath.Join(dir, name)); serr == nil {
				return filepath.Join(dir, name)
			}
		}
		need(t, name+" not installed (see .ci/deps)")
	}
	return p
}

func need(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// Env is one test's private network: a hub namespace holding a bridge, and a cgroup
// folder for its pods.
type Env struct {
	t      testing.TB
	Prefix string // e.g. "rdr3fa2"; every name created starts with it
	Hub    string // netns path of the hub
	Cgroup string // cgroup v2 folder holding the pods' cgroups
	ip     string
	next   int
}

// New creates an Env. tag is the package's short tag (2-4 letters).
func New(t testing.TB, tag string) *Env {
	t.Helper()
	RequireRoot(t)
	e := &Env{t: t, Prefix: tag + randHex(2), ip: RequireTool(t, "ip")}
	RequireTool(t, "nsenter")
	root, err := redirect.Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	e.Cgroup = filepath.Join(root, e.Prefix)
	if err := os.Mkdir(e.Cgroup, 0o755); err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	t.Cleanup(func() { removeCgroup(e.Cgroup) })
	e.Hub = e.addNetNS(e.Prefix + "-hub")
	e.Run(e.Hub, "link", "add", "br0", "type", "bridge")
	e.Run(e.Hub, "link", "set", "br0", "up")
	return e
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (e *Env) addNetNS(name string) string {
	e.t.Helper()
	e.Run("", "netns", "add", name)
	e.t.Cleanup(func() { _ = exec.Command(e.ip, "netns", "del", name).Run() })
	path := "/run/netns/" + name
	e.Run(path, "link", "set", "lo", "up")
	return path
}

// Run runs `ip args...` inside the namespace at ns (the host's when empty), failing
// the test on error.
func (e *Env) Run(ns string, args ...string) {
	e.t.Helper()
	if out, err := e.command(ns, e.ip, args...).CombinedOutput(); err != nil {
		e.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Exec runs any command inside the namespace at ns and returns its combined output.
func (e *Env) Exec(ns, name string, args ...string) (string, error) {
	out, err := e.command(ns, name, args...).CombinedOutput()
	return string(out), err
}

// command uses nsenter --net rather than `ip netns exec`, which remounts /sys and
// hides the cgroup2 mount.
func (e *Env) command(ns, name string, args ...string) *exec.Cmd {
	if ns == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("nsenter", append([]string{"--net=" + ns, name}, args...)...)
}

func removeCgroup(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if en.IsDir() {
			removeCgroup(filepath.Join(dir, en.Name()))
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
		_ = os.Remove(dir)
	}
}

func (e *Env) mkCgroup(name string) string {
	e.t.Helper()
	dir := filepath.Join(e.Cgroup, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatalf("create cgroup: %v", err)
	}
	return dir
}

func (e *Env) name(s string) string { return fmt.Sprintf("%s%s", e.Prefix, s) }
