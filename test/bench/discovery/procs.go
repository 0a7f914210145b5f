package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one started process (a proxy or the agent).
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// startProc starts bin; with cgroup set, the process starts inside that
// cgroup2 folder (clone3 CLONE_INTO_CGROUP), as a container's process would.
func startProc(dir, name, cgroup, bin string, args ...string) (*proc, error) {
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if cgroup != "" {
		fd, err := syscall.Open(cgroup, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
		if err != nil {
			log.Close()
			return nil, fmt.Errorf("cgroup %s: %w", cgroup, err)
		}
		defer syscall.Close(fd)
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() {
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
	p.log.Close()
}

// stopAll stops procs concurrently.
func stopAll(procs []*proc) {
	done := make(chan struct{}, len(procs))
	for _, p := range procs {
		go func() { p.stop(); done <- struct{}{} }()
	}
	for range procs {
		<-done
	}
}

// tail is the end of a process's log, for errors.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log.Name())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// cpuSeconds is utime+stime of pid from /proc/<pid>/stat (clock ticks of 1/100 s).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(s[i+2:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14
	st, _ := strconv.ParseFloat(f[12], 64) // field 15
	return (ut + st) / 100, nil
}

// rssMB is VmRSS of pid in MB (10^6 bytes).
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024 / 1e6
		}
	}
	return 0
}

// podCgroups makes one cgroup2 folder per pod under root, laid out as the
// kubelet's cgroupfs driver lays out a BestEffort pod's container:
// <root>/rampart-discovery-bench-<pid>/kubepods/besteffort/pod<uid>/proxy.
// remove deletes them (rmdir, deepest first) once their processes are gone.
func podCgroups(root string, uids []string) (dirs []string, remove func(), err error) {
	base := filepath.Join(root, fmt.Sprintf("rampart-discovery-bench-%d", os.Getpid()))
	qos := filepath.Join(base, "kubepods", "besteffort")
	remove = func() {
		for _, d := range dirs {
			_ = os.Remove(d)
			_ = os.Remove(filepath.Dir(d))
		}
		_ = os.Remove(qos)
		_ = os.Remove(filepath.Dir(qos))
		_ = os.Remove(base)
	}
	for _, uid := range uids {
		d := filepath.Join(qos, "pod"+uid, "proxy")
		if err := os.MkdirAll(d, 0o755); err != nil {
			remove()
			return nil, nil, fmt.Errorf("pod cgroup: %w", err)
		}
		dirs = append(dirs, d)
	}
	return dirs, remove, nil
}
