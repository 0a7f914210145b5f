package e2e_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/rampart-mesh/rampart/test/demo"
)

// childEnv tells a re-executed test binary to run TestChildScenario in the way
// named by its value.
const childEnv = "RAMPART_E2E_CHILD"

// TestChildScenario is only run as a child of TestTeardownAfterFailure: it builds
// the scenario, says so, then fails ("fail") or waits to be killed ("hang").
func TestChildScenario(t *testing.T) {
	how := os.Getenv(childEnv)
	if how == "" {
		t.Skip("run by TestTeardownAfterFailure only")
	}
	starWars(t, demo.Strict)
	fmt.Println("SCENARIO UP")
	if how == "hang" {
		select {}
	}
	t.Fatal("failing on purpose, after setup")
}

// TestTeardownAfterFailure runs the scenario in a child test binary that fails
// (its cleanups must remove everything) or is killed with SIGKILL (nothing runs:
// Sweep, as the next run does at start, must remove everything).
func TestTeardownAfterFailure(t *testing.T) {
	newEnv(t) // root, cgroup2, eBPF
	for _, how := range []string{"fail", "hang"} {
		t.Run(how, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildScenario$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+how, "RAMPART_PROXY="+proxyBinary)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			s := bufio.NewScanner(out)
			var lines []string
			for s.Scan() && !strings.Contains(s.Text(), "SCENARIO UP") {
				lines = append(lines, s.Text())
			}
			if how == "hang" {
				_ = cmd.Process.Signal(syscall.SIGKILL)
			}
			for s.Scan() {
				lines = append(lines, s.Text())
			}
			if err := cmd.Wait(); err == nil {
				t.Fatalf("the child passed: %s", strings.Join(lines, "\n"))
			}
			if how == "hang" {
				if err := demo.Sweep("rpe2e"); err != nil {
					t.Fatal(err)
				}
			}
			assertGone(t, fmt.Sprintf("rpe2e%x-", cmd.Process.Pid), nil)
		})
	}
}
