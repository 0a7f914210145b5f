package netpod

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rampart-mesh/rampart/redirect"
)

// prefix names one Env: tag, the creating process's id in hex, and a sequence
// number, e.g. "rpe2e1f3a-1". Sweep reads the process id back.
func prefix(tag string, pid, seq int) string {
	return fmt.Sprintf("%s%x-%d", tag, pid, seq)
}

// ownerPID returns the process id encoded in a name made by prefix, or false when
// the name is not one of tag's.
func ownerPID(tag, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, tag)
	if !ok {
		return 0, false
	}
	hexPID, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.ParseInt(hexPID, 16, 32)
	return int(pid), err == nil && pid > 0
}

// stale reports whether name belongs to tag and was made by a process that is gone.
func stale(tag, name string) bool {
	pid, ok := ownerPID(tag, name)
	if !ok || pid == os.Getpid() {
		return false
	}
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// Sweep removes the namespaces, cgroups (killing their processes), pins and work
// folders of earlier runs with this tag whose process no longer exists, e.g. after
// kill -9. Runs of live processes (parallel tests) are left alone.
func Sweep(tag string) error {
	var errs []error
	if root, err := redirect.Cgroup2Mount(); err == nil {
		errs = append(errs, sweepDir(tag, root, removeCgroup))
	}
	errs = append(errs, sweepDir(tag, "/run/netns", delNetNS))
	errs = append(errs, sweepDir(tag, redirect.BPFFSRoot, removePins))
	errs = append(errs, sweepDir(tag, os.TempDir(), os.RemoveAll))
	return errors.Join(errs...)
}

func sweepDir(tag, dir string, remove func(string) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // nothing there, nothing stale
	}
	var errs []error
	for _, en := range entries {
		if stale(tag, en.Name()) {
			errs = append(errs, remove(filepath.Join(dir, en.Name())))
		}
	}
	return errors.Join(errs...)
}

// removePins detaches every pod pinned under root and removes the folder.
func removePins(root string) error {
	names, _ := redirect.Pinned(root)
	var errs []error
	for _, n := range names {
		if err := redirect.Detach(root, n); err != nil {
			errs = append(errs, fmt.Errorf("netpod: detach %s: %w", n, err))
		}
	}
	if err := os.RemoveAll(root); err != nil {
		errs = append(errs, fmt.Errorf("netpod: remove pins: %w", err))
	}
	return errors.Join(errs...)
}

// delNetNS deletes a named namespace given its /run/netns path. The namespace
// (and the veth ends inside it) goes away once no process holds it.
func delNetNS(path string) error {
	out, err := exec.Command(LookTool("ip"), "netns", "del", filepath.Base(path)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netpod: ip netns del %s: %v: %s", filepath.Base(path), err, strings.TrimSpace(string(out)))
	}
	return nil
}
