package netpod

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv carries the helper command into the re-executed test binary.
const helperEnv = "RAMPART_NETPOD_HELPER"

// HelperEnv is the environment entry that makes the test binary run a helper
// command (see MaybeHelper), for processes started by other means (e.g. runc).
func HelperEnv(helper ...string) string { return helperEnv + "=" + strings.Join(helper, "\x1f") }

// Proc is a helper process running inside a pod.
type Proc struct {
	Cmd   *exec.Cmd
	In    io.WriteCloser
	lines chan string
	t     testing.TB
}

// Start runs the helper command (see MaybeHelper) in the pod's namespace, inside
// cgroup (one of the pod's cgroups), so that every socket it opens is the pod's.
func (p *Pod) Start(t testing.TB, cgroup string, helper ...string) *Proc {
	t.Helper()
	return p.env.StartIn(t, p.NetNS, cgroup, helper...)
}

// StartIn runs a helper command in any namespace and cgroup.
func (e *Env) StartIn(t testing.TB, netns, cgroup string, helper ...string) *Proc {
	t.Helper()
	cg, err := os.Open(cgroup)
	if err != nil {
		t.Fatalf("open cgroup: %v", err)
	}
	defer cg.Close()
	cmd := exec.Command("nsenter", "--net="+netns, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), HelperEnv(helper...))
	// The cgroup is fixed at clone time so that no socket is ever opened outside it.
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper %v: %v", helper, err)
	}
	pr := &Proc{Cmd: cmd, In: in, lines: make(chan string, 4096), t: t}
	go pr.read(out)
	t.Cleanup(pr.Stop)
	return pr
}

func (p *Proc) read(r io.Reader) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		p.lines <- s.Text()
	}
	close(p.lines)
}

// Line returns the next output line, failing the test after 20s or at exit.
func (p *Proc) Line() string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("helper %v exited: %v", p.Cmd.Args, p.Cmd.Wait())
		}
		return l
	case <-time.After(20 * time.Second):
		p.t.Fatalf("helper %v: no output after 20s", p.Cmd.Args)
	}
	return ""
}

// Stop kills the helper and waits for it.
func (p *Proc) Stop() {
	if p.Cmd.ProcessState != nil {
		return
	}
	_ = p.Cmd.Process.Kill()
	_ = p.Cmd.Wait()
}
