package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// procSpec says what to run where.
type procSpec struct {
	name   string   // for errors and logs
	netns  string   // namespace name
	cgroup string   // cgroup folder; the process is born in it
	uid    int      // 0: root
	argv   []string // program and arguments
	env    []string // added to the environment
	stderr string   // file receiving stderr; "" = the work folder's <name>.log
}

// Proc is a process running inside a pod.
type Proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	log   string
	ctx   context.Context // the Env's: cancelling it ends every wait

	stopOnce sync.Once
}

// start runs spec.argv in the namespace through nsenter (not `ip netns exec`,
// which remounts /sys and hides the cgroup2 mount), born in spec.cgroup so that
// no socket it ever opens is outside it.
func (e *Env) start(spec procSpec) (*Proc, error) {
	cg, err := os.Open(spec.cgroup)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: cgroup: %w", spec.name, err)
	}
	defer cg.Close()
	if spec.stderr == "" {
		spec.stderr = e.Path(spec.name + ".log")
	}
	logf, err := os.OpenFile(spec.stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: log: %w", spec.name, err)
	}
	defer logf.Close()
	args := []string{"--net=" + nsPath(spec.netns)}
	if spec.uid != 0 {
		id := strconv.Itoa(spec.uid)
		args = append(args, "--setuid", id, "--setgid", id)
	}
	cmd := exec.Command(lookTool("nsenter"), append(append(args, "--"), spec.argv...)...)
	cmd.Env = append(os.Environ(), spec.env...)
	cmd.Stderr = logf
	// Pdeathsig kills root helpers with the harness; the proxy changes uid, which
	// clears it, so Close (and Sweep) also kill the whole cgroup.
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Pdeathsig: syscall.SIGKILL}
	return e.startCmd(spec, cmd)
}

func (e *Env) startCmd(spec procSpec, cmd *exec.Cmd) (*Proc, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("demo: start %s: %w", spec.name, err)
	}
	p := &Proc{name: spec.name, cmd: cmd, stdin: in, lines: make(chan string, 1<<14),
		done: make(chan struct{}), log: spec.stderr, ctx: e.opts.Context}
	go p.read(out)
	e.onClose(func() error { p.Stop(); return nil })
	return p, nil
}

func (p *Proc) read(r io.Reader) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		p.lines <- s.Text()
	}
	close(p.lines)
	_ = p.cmd.Wait()
	close(p.done)
}

// errExited is returned when a process ends before answering.
var errExited = errors.New("process exited")

// Line returns the process's next stdout line.
func (p *Proc) Line(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", fmt.Errorf("demo: %s: %w (%v); its log: %s", p.name, errExited, p.cmd.ProcessState, tail(p.log))
		}
		return l, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("demo: %s: no answer within %v; its log: %s", p.name, timeout, tail(p.log))
	case <-p.ctx.Done():
		return "", fmt.Errorf("demo: %s: %w", p.name, p.ctx.Err())
	}
}

// Send writes one line to the process's stdin.
func (p *Proc) Send(line string) error {
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// Stop asks the process to end (SIGTERM), kills it after 3s, and waits.
func (p *Proc) Stop() {
	p.stopOnce.Do(func() {
		_ = p.stdin.Close()
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// tail returns the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	const max = 1500
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
