package podtest

import (
	"os"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// helperEnv carries the helper command into the re-executed test binary.
const helperEnv = "RAMPART_NETPOD_HELPER"

// HelperEnv is the environment entry that makes the test binary run a helper
// command (see MaybeHelper), for processes started by other means (e.g. runc).
func HelperEnv(helper ...string) string { return netpod.HelperEnvEntry(helperEnv, helper...) }

// Proc is a helper process running inside a pod.
type Proc struct {
	*netpod.Proc
	t testing.TB
}

// Start runs the helper command (see MaybeHelper) in the pod's namespace, inside
// cgroup (one of the pod's cgroups), so that every socket it opens is the pod's.
func (p *Pod) Start(t testing.TB, cgroup string, helper ...string) *Proc {
	t.Helper()
	return p.env.StartIn(t, p.NetNS, cgroup, helper...)
}

// StartIn runs a helper command in any namespace (by path) and cgroup; it is
// killed in t.Cleanup.
func (e *Env) StartIn(t testing.TB, netns, cgroup string, helper ...string) *Proc {
	t.Helper()
	argv, env := netpod.TestHelper(helperEnv)(helper...)
	p, err := e.Start(netpod.ProcSpec{Name: helper[0], NetNS: netns, Cgroup: cgroup,
		Argv: argv, Env: env, Stderr: os.Stderr})
	if err != nil {
		t.Fatalf("start helper %v: %v", helper, err)
	}
	t.Cleanup(p.Kill)
	return &Proc{Proc: p, t: t}
}

// Line returns the next output line, failing the test after 20s or at exit.
func (p *Proc) Line() string {
	p.t.Helper()
	l, err := p.Proc.Line(20 * time.Second)
	if err != nil {
		p.t.Fatal(err)
	}
	return l
}
