package netpod

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

// ProcSpec says what to run where.
type ProcSpec struct {
	Name   string   // for errors and the log file's name
	NetNS  string   // namespace path (NSPath, Pod.NetNSPath); StartCmd: "" for the host's
	Cgroup string   // cgroup folder; the process is born in it
	UID    int      // 0: root; else uid and gid
	Argv   []string // program and arguments
	Env    []string // added to this process's environment
	// Stderr receives the process's stderr. Default: the work folder's
	// <Name>.log, whose end Proc errors quote.
	Stderr io.Writer
	// Detach (StartCmd) lets the process outlive its creator, in a process
	// group of its own: the daemons of a cluster that `cluster up` leaves
	// running. Its cgroup is how it is found and killed later.
	Detach bool
}

// Proc is a process running inside a pod, its stdout read line by line.
type Proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	log   string          // stderr's file, "" when it went elsewhere
	ctx   context.Context // the Env's: cancelling it ends every wait

	stopOnce sync.Once
}

// Start runs spec.Argv in the namespace through nsenter (not `ip netns exec`,
// which remounts /sys and hides the cgroup2 mount), born in spec.Cgroup so that
// no socket it ever opens is outside it. Close stops it.
func (e *Env) Start(spec ProcSpec) (*Proc, error) {
	logPath := ""
	stderr := spec.Stderr
	if stderr == nil {
		logPath = e.Path(spec.Name + ".log")
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("netpod: %s: log: %w", spec.Name, err)
		}
		defer logf.Close()
		stderr = logf
	}
	var out io.Reader
	var in io.WriteCloser
	cmd, err := StartCmd(spec, func(cmd *exec.Cmd) (err error) {
		cmd.Stderr = stderr
		if out, err = cmd.StdoutPipe(); err != nil {
			return err
		}
		in, err = cmd.StdinPipe()
		return err
	})
	if err != nil {
		return nil, err
	}
	p := &Proc{name: spec.Name, cmd: cmd, stdin: in, lines: make(chan string, 1<<14),
		done: make(chan struct{}), log: logPath, ctx: e.opts.Context}
	go p.read(out)
	e.OnClose(func() error { p.Stop(); return nil })
	return p, nil
}

// StartCmd starts spec.Argv as Env.Start does (in spec.NetNS through nsenter, or
// in the host's namespace when it is empty; born in spec.Cgroup; as spec.UID),
// for a harness that waits for its processes itself. setup, when not nil, sets
// the command's standard streams before it starts.
func StartCmd(spec ProcSpec, setup func(*exec.Cmd) error) (*exec.Cmd, error) {
	cg, err := os.Open(spec.Cgroup)
	if err != nil {
		return nil, fmt.Errorf("netpod: %s: cgroup: %w", spec.Name, err)
	}
	defer cg.Close()
	argv := spec.Argv
	if spec.NetNS != "" || spec.UID != 0 {
		args := []string{LookTool("nsenter")}
		if spec.NetNS != "" {
			args = append(args, "--net="+spec.NetNS)
		}
		if spec.UID != 0 {
			id := strconv.Itoa(spec.UID)
			args = append(args, "--setuid", id, "--setgid", id)
		}
		argv = append(append(args, "--"), argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	// Pdeathsig kills root helpers with their creator; a uid change clears it, so
	// Close (and Sweep) also kill the whole cgroup. A detached process instead
	// outlives its creator, in its own process group (a terminal's Ctrl-C
	// reaches only the creator, which stops it in order).
	attr := &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Pdeathsig: syscall.SIGKILL}
	if spec.Detach {
		attr.Pdeathsig, attr.Setpgid = 0, true
	}
	cmd.SysProcAttr = attr
	if setup != nil {
		if err := setup(cmd); err != nil {
			return nil, fmt.Errorf("netpod: %s: %w", spec.Name, err)
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("netpod: start %s: %w", spec.Name, err)
	}
	return cmd, nil
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

// ErrExited is returned when a process ends before answering.
var ErrExited = errors.New("process exited")

// Line returns the process's next stdout line.
func (p *Proc) Line(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			return "", fmt.Errorf("netpod: %s: %w (%v)%s", p.name, ErrExited, p.cmd.ProcessState, p.logTail())
		}
		return l, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("netpod: %s: no answer within %v%s", p.name, timeout, p.logTail())
	case <-p.ctx.Done():
		return "", fmt.Errorf("netpod: %s: %w", p.name, p.ctx.Err())
	}
}

// Send writes one line to the process's stdin.
func (p *Proc) Send(line string) error {
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// Stdin is the process's standard input.
func (p *Proc) Stdin() io.Writer { return p.stdin }

// Lines is the process's stdout, one line each, closed at its end; for readers
// that consume every line (Line takes them one by one instead).
func (p *Proc) Lines() <-chan string { return p.lines }

// Done is closed once the process has exited and been waited for.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Pid is the process's id (nsenter execs the program, so it is the program's).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

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

// Kill ends the process at once (SIGKILL), as a crash would, and waits for it.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// LogTail is the end of the process's log file, for error messages; "" when its
// stderr went elsewhere.
func (p *Proc) LogTail() string {
	if p.log == "" {
		return ""
	}
	return Tail(p.log)
}

func (p *Proc) logTail() string {
	if p.log == "" {
		return ""
	}
	return "; its log: " + Tail(p.log)
}

// Tail returns the end of a log file, for error messages.
func Tail(path string) string {
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
