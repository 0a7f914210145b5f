package redirect

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNoListener is returned by FindListener when no process of the cgroup listens on
// the port yet (the proxy has not started): try again later.
var ErrNoListener = errors.New("no listener found")

// FindListener finds the TCP socket listening on port owned by a process in cgroup
// (or its children) and returns a duplicate of it, taken with pidfd_getfd, for
// Handle.SetInboundListener. The caller closes the file.
func FindListener(cgroup string, port uint16) (*os.File, error) {
	pids, err := cgroupPIDs(cgroup)
	if err != nil {
		return nil, fmt.Errorf("find listener: %w", err)
	}
	for _, pid := range pids {
		inodes := listeningInodes(pid, port)
		if len(inodes) == 0 {
			continue
		}
		if f, err := stealSocket(pid, inodes); err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("find listener on port %d in %s: %w", port, cgroup, ErrNoListener)
}

func cgroupPIDs(dir string) ([]int, error) {
	var pids []int
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.Name() != "cgroup.procs" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids, err
}

// listeningInodes reads the process's netns socket tables for listeners on port.
func listeningInodes(pid int, port uint16) map[string]bool {
	inodes := map[string]bool{}
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fl := strings.Fields(s.Text())
			if len(fl) < 10 || fl[3] != "0A" {
				continue
			}
			if i := strings.LastIndexByte(fl[1], ':'); i > 0 {
				if p, err := strconv.ParseUint(fl[1][i+1:], 16, 16); err == nil && uint16(p) == port {
					inodes[fl[9]] = true
				}
			}
		}
		f.Close()
	}
	return inodes
}

func stealSocket(pid int, inodes map[string]bool) (*os.File, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:[") {
			continue
		}
		if !inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] {
			continue
		}
		fd, _ := strconv.Atoi(e.Name())
		return pidfdGetfd(pid, fd)
	}
	return nil, ErrNoListener
}

func pidfdGetfd(pid, fd int) (*os.File, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(pidfd)
	nfd, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_getfd: %w", err)
	}
	return os.NewFile(uintptr(nfd), "inbound-listener"), nil
}
