package podtest

import (
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/redirect/netpod"
	"github.com/rampart-mesh/rampart/test/support"
)

// RequireRoot skips the test when not root, and fails it under CI=true.
func RequireRoot(t testing.TB) {
	t.Helper()
	support.RequireRoot(t, "needs root (network namespaces, cgroups, eBPF)")
}

// RequireTool skips (fails under CI=true) when a system tool is missing, and
// returns its path.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	if !netpod.HaveTool(name) {
		support.Need(t, name+" not installed (see .ci/deps)")
	}
	return netpod.LookTool(name)
}

// Env is one test's private network: a netpod.Env (hub namespace holding a
// bridge, cgroup folder for its pods), closed in t.Cleanup.
type Env struct {
	*netpod.Env
	t   testing.TB
	Hub string // netns path of the hub
}

// New creates an Env. tag is the package's short tag (2-4 letters).
func New(t testing.TB, tag string) *Env {
	t.Helper()
	RequireRoot(t)
	RequireTool(t, "ip")
	RequireTool(t, "nsenter")
	env, err := netpod.New(netpod.Options{Tag: tag})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return &Env{Env: env, t: t, Hub: netpod.NSPath(env.Hub)}
}

// Run runs `ip args...` inside the namespace at path ns (the host's when empty),
// failing the test on error.
func (e *Env) Run(ns string, args ...string) {
	e.t.Helper()
	if out, err := netpod.Exec(ns, "ip", args...); err != nil {
		e.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Exec runs any command inside the namespace at path ns and returns its combined
// output.
func (e *Env) Exec(ns, name string, args ...string) (string, error) {
	return netpod.Exec(ns, name, args...)
}
