package netpod

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

// Hierarchies returns the mount points of every cgroup hierarchy (the v1 ones
// and the unified one) and which of them is cgroup2. A pod needs only the
// unified one (Env.Cgroup); a harness whose children set up cgroups of their
// own across every hierarchy (kubelet's cgroupRoot) needs them all.
func Hierarchies() (all []string, unified string, err error) {
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
		return nil, "", errors.New("netpod: no cgroup2 mount")
	}
	return all, unified, sc.Err()
}

// MakeCgroupEverywhere creates /<name> in every hierarchy (v1 cpuset ones get
// their parent's cpus and mems, without which they refuse tasks and children)
// and returns the unified one's folder.
func MakeCgroupEverywhere(name string) (string, error) {
	all, unified, err := Hierarchies()
	if err != nil {
		return "", err
	}
	for _, h := range all {
		dir := filepath.Join(h, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("netpod: cgroup %s: %w", dir, err)
		}
		if filepath.Base(h) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				b, _ := os.ReadFile(filepath.Join(h, f))
				_ = os.WriteFile(filepath.Join(dir, f), b, 0)
			}
		}
	}
	return filepath.Join(unified, name), nil
}

// KillCgroupEverywhere kills every process in /<name> of every hierarchy:
// cgroup.kill in the unified one, SIGKILL to each listed pid in the v1 ones
// (a child may have moved itself there), until all are empty.
func KillCgroupEverywhere(name string) error {
	all, unified, err := Hierarchies()
	if err != nil {
		return err
	}
	_ = os.WriteFile(filepath.Join(unified, name, "cgroup.kill"), []byte("1"), 0)
	var left []int
	for range 100 {
		left = left[:0]
		for _, h := range all {
			left = append(left, CgroupPids(filepath.Join(h, name))...)
		}
		if len(left) == 0 {
			return nil
		}
		for _, p := range left {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("netpod: processes %v outlive SIGKILL in cgroup %s", left, name)
}

// RemoveCgroupEverywhere removes /<name> and everything below it in every
// hierarchy, bottom up, once its processes are gone (KillCgroupEverywhere).
func RemoveCgroupEverywhere(name string) error {
	all, _, err := Hierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range all {
		if err := removeTreeRetry(filepath.Join(h, name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CgroupPids lists the processes of dir and its descendants.
func CgroupPids(dir string) []int {
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

// removeCgroup kills every process left in dir (a unified cgroup) and its
// children, then removes the folders bottom up. cgroup.kill (Linux 5.14) makes
// this one write.
func removeCgroup(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	return removeTreeRetry(dir)
}

// removeTreeRetry removes a cgroup folder and its children bottom up, retrying
// for a few seconds: killed processes leave their cgroup asynchronously.
func removeTreeRetry(dir string) error {
	var last error
	for range 100 {
		if last = removeTree(dir); last == nil {
			return nil
		}
		time.Sleep(30 * time.Millisecond)
	}
	return fmt.Errorf("netpod: remove cgroup %s: %w", dir, last)
}

func removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, en := range entries {
		if en.IsDir() {
			if err := removeTree(filepath.Join(dir, en.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return err
	}
	return nil
}
