package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// procs starts the cluster's daemons with netpod.StartCmd, detached: in their
// own process group (a terminal's Ctrl-C reaches only the owner, which tears
// down in order) and outliving it (`cluster up` returns with them running),
// directly inside the daemons' cgroup (clone3 CLONE_INTO_CGROUP, so no child
// escapes a kill), in the node's netns when asked (nsenter --net, which, unlike
// `ip netns exec`, keeps /sys and the cgroup mounts as they are).
type procs struct {
	logs   string // folder of <name>.log
	cgroup string // unified cgroup folder of the daemons
	netns  string // /run/netns/<name>

	wg     sync.WaitGroup // one per daemon still to be reaped
	mu     sync.Mutex
	exited map[string]error // daemons that stopped, and how
}

func (p *procs) start(name string, inNode bool, env []string, bin string, args ...string) error {
	if err := os.MkdirAll(p.logs, 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(p.logPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	spec := netpod.ProcSpec{Name: name, Cgroup: p.cgroup, Argv: append([]string{bin}, args...), Env: env, Detach: true}
	if inNode {
		spec.NetNS = p.netns
	}
	cmd, err := netpod.StartCmd(spec, func(cmd *exec.Cmd) error {
		cmd.Stdout, cmd.Stderr = logf, logf
		return nil
	})
	if err != nil {
		logf.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		if p.exited == nil {
			p.exited = map[string]error{}
		}
		p.exited[name] = fmt.Errorf("%s exited: %v", name, err)
		p.mu.Unlock()
	}()
	return nil
}

// dead returns an error naming a daemon that stopped, with its log's tail.
func (p *procs) dead() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, err := range p.exited {
		return fmt.Errorf("cluster: %w\n%s", err, p.tail(name, 30))
	}
	return nil
}

func (p *procs) logPath(name string) string { return filepath.Join(p.logs, name+".log") }

// tail returns the last n lines of a daemon's log.
func (p *procs) tail(name string, n int) string {
	b, _ := os.ReadFile(p.logPath(name))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// reaped waits up to d for every daemon started here to have been reaped.
func (p *procs) reaped(d time.Duration) {
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
