package e2e_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/demo"
)

// rampartDemo starts `rampart demo` and returns it with a reader of its output.
func rampartDemo(t *testing.T) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	newEnv(t) // needs root, cgroup2, eBPF
	cmd := exec.Command(rampartBinary, "demo", "--proxy", proxyBinary)
	cmd.Stderr = os.Stderr
	// Its own process group, so that a Ctrl-C can reach all of it as a terminal's does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// TestDemoCtrlC interrupts `rampart demo` as a terminal's Ctrl-C does (SIGINT to
// its whole process group: demo, apps and proxies) while it sets up and once its
// pods run, and checks that it removed everything it made, promptly.
func TestDemoCtrlC(t *testing.T) {
	for _, c := range []struct {
		name  string
		after func(*bufio.Scanner)
	}{
		{"during setup", func(*bufio.Scanner) { time.Sleep(300 * time.Millisecond) }},
		{"after setup", func(out *bufio.Scanner) {
			for out.Scan() && !strings.HasPrefix(out.Text(), "Star Wars on real namespaces") {
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd, out := rampartDemo(t)
			c.after(out)
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			for out.Scan() {
			}
			err := cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signaled() {
				t.Fatalf("rampart demo died of the signal instead of tearing down: %v", err)
			}
			assertGone(t, fmt.Sprintf("rpdemo%x-", cmd.Process.Pid), nil)
		})
	}
}

// TestDemoOutput runs `rampart demo` to the end and checks its table and
// counters: the quick start a newcomer sees.
func TestDemoOutput(t *testing.T) {
	cmd, out := rampartDemo(t)
	var all bytes.Buffer
	for out.Scan() {
		all.WriteString(out.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("rampart demo: %v\n%s", err, all.String())
	}
	text := all.String()
	wantLines := [][]string{
		{"tiefighter", "POST /v1/request-landing", "200 Ship landed", "allowed by policy"},
		{"tiefighter", "PUT /v1/exhaust-port", "403 Access denied", "denied by policy"},
		{"xwing", "POST /v1/request-landing", "403 Access denied", "denied by policy"},
		{"smuggler", "POST /v1/request-landing", "refused", "plaintext refused in STRICT mode"},
		{"Torn down"},
		// The egress table (the seed scenario, rampart demo's second part).
		{"a", "GET https://github.com/", "github.com (198.18.10.1)", "200 hello from github.com"},
		{"a", "GET https://google.com/", "TLS alert access_denied"},
		{"b", "GET http://github.com/", "403 Access denied: egress to github.com"},
		{"a", "GET http://github.com/", "evil.example (198.18.10.4)", "403 Access denied"},
	}
	wantLines = append(wantLines,
		[]string{demo.ExhaustRevision, `every replica answers "200 Panic: deathstar exploded`, " 0 failed"},
		[]string{demo.StarWarsRevision, `every replica answers "403 Access denied"`, " 0 failed"})
	for _, want := range wantLines {
		if !hasLine(text, want...) {
			t.Errorf("no line with %q in:\n%s", want, text)
		}
	}
	assertGone(t, fmt.Sprintf("rpdemo%x-", cmd.Process.Pid), nil)
}

func hasLine(text string, parts ...string) bool {
	for _, l := range strings.Split(text, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}
