package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hierarchies returns the mount points of every cgroup hierarchy (v1 and the
// unified one) and which of them is cgroup2.
func hierarchies() (all []string, unified string, err error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 || seen[fs[1]] {
			continue
		}
		switch fs[2] {
		case "cgroup":
			all = append(all, fs[1])
		case "cgroup2":
			all, unified = append(all, fs[1]), fs[1]
		default:
			continue
		}
		seen[fs[1]] = true
	}
	if unified == "" {
		return nil, "", fmt.Errorf("%w: a cgroup2 mount", ErrMissing)
	}
	return all, unified, sc.Err()
}

// makeCgroups creates /<name> in every hierarchy (kubelet's cgroupRoot must
// exist in all of them) and /<name>/system in the unified one, where the
// daemons run; it returns the latter.
func makeCgroups(name string) (string, error) {
	all, unified, err := hierarchies()
	if err != nil {
		return "", err
	}
	for _, h := range all {
		dir := filepath.Join(h, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("cluster: cgroup %s: %w", dir, err)
		}
		if filepath.Base(h) == "cpuset" { // v1 cpuset: empty cpus/mems refuse tasks and children
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				b, _ := os.ReadFile(filepath.Join(h, f))
				_ = os.WriteFile(filepath.Join(dir, f), b, 0)
			}
		}
	}
	sys := filepath.Join(unified, name, "system")
	if err := os.Mkdir(sys, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("cluster: cgroup %s: %w", sys, err)
	}
	return sys, nil
}

// killCgroups kills every process in /<name> of every hierarchy: cgroup.kill in
// the unified one, SIGKILL to each listed pid in the v1 ones, until all are empty.
func killCgroups(name string) error {
	all, unified, err := hierarchies()
	if err != nil {
		return err
	}
	_ = os.WriteFile(filepath.Join(unified, name, "cgroup.kill"), []byte("1"), 0)
	var left []int
	for range 100 {
		left = left[:0]
		for _, h := range all {
			left = append(left, pids(filepath.Join(h, name))...)
		}
		if len(left) == 0 {
			return nil
		}
		for _, p := range left {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("cluster: processes %v outlive SIGKILL in cgroup %s", left, name)
}

// pids lists the processes of dir and its descendants.
func pids(dir string) []int {
	var out []int
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
		return nil
	})
	return out
}

// removeCgroups removes /<name> and everything below it in every hierarchy,
// bottom up (a cgroup folder goes only when empty of children and processes).
func removeCgroups(name string) error {
	all, _, err := hierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range all {
		dir := filepath.Join(h, name)
		var last error
		for range 50 {
			if last = rmTree(dir); last == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if last != nil {
			errs = append(errs, fmt.Errorf("cluster: remove cgroup %s: %w", dir, last))
		}
	}
	return errors.Join(errs...)
}

func rmTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := rmTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return err
	}
	return nil
}
