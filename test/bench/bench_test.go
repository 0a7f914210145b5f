package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/support"
)

// TestSmoke runs the whole benchmark at a tiny scale (one rep, a second per
// workload) so the harness cannot rot: every chain must start, refuse the
// exhaust port where a policy runs, answer every request 200 through all three
// workloads, and yield a table row. It asserts no figure: the machine is shared.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nine proxies and runs wrk for about 20 s")
	}
	c := config{policy: "../../policies/starwars", reps: 1, rate: 200, conns: 10, churnRate: 50,
		fixed: time.Second, churn: time.Second, max: time.Second,
		minDone: 0} // a busy CI machine may fall behind the schedule: only answers count here
	c.haproxy, c.nginx, c.wrk = tool(t, "haproxy"), tool(t, "nginx"), tool(t, "wrk")
	c.ghostunnel = filepath.Join(support.ToolsDir(t), "ghostunnel-v1.8.4", "ghostunnel")
	if _, err := os.Stat(c.ghostunnel); err != nil {
		missing(t, "ghostunnel (make tools): "+err.Error())
	}
	c.rampart = filepath.Join(t.TempDir(), "rampart-proxy")
	support.GoBuild(t, "", c.rampart, "../../cmd/rampart-proxy")
	table, err := run(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table)
	for _, name := range []string{"direct", "nginx", "haproxy", "ghostunnel", "rampart"} {
		if !strings.Contains(table, "| "+name+" ") {
			t.Errorf("no row for %s", name)
		}
	}
}

// missing skips outside CI and fails in CI, where make deps and make tools
// provide everything.
func missing(t *testing.T, what string) {
	t.Helper()
	support.Need(t, "missing "+what)
}

func tool(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range append(filepath.SplitList(os.Getenv("PATH")), "/usr/sbin", "/usr/bin") {
		if p := filepath.Join(dir, name); isExec(p) {
			return p
		}
	}
	missing(t, name+" (make deps)")
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
