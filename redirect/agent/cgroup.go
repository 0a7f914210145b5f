package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNotFound is returned when a pod's cgroup, container or process is not (yet) there.
var ErrNotFound = errors.New("not found")

// maxDepth bounds the search below the cgroup root: kubelet nests pods at most
// kubepods/<qos>/pod<uid> (cgroupfs) or kubepods.slice/kubepods-<qos>.slice/... (systemd),
// possibly under a parent slice.
const maxDepth = 5

// FindPodCgroup finds the cgroup folder of the pod with the given UID below root,
// in either kubelet layout: cgroupfs names it "pod<uid>", systemd
// "kubepods[-<qos>]-pod<uid with _ for ->.slice".
func FindPodCgroup(root, uid string) (string, error) {
	if uid == "" || strings.ContainsAny(uid, "/.") {
		return "", fmt.Errorf("find pod cgroup: bad uid %q", uid)
	}
	cgroupfs := "pod" + uid
	systemd := "-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
	found := ""
	err := walkDirs(root, func(path, name string) bool {
		if name == cgroupfs || (strings.Contains(name, "kubepods") && strings.HasSuffix(name, systemd)) {
			found = path
			return true
		}
		return false
	})
	if err != nil {
		return "", fmt.Errorf("find pod cgroup: %w", err)
	}
	if found == "" {
		return "", fmt.Errorf("pod cgroup of %s under %s: %w", uid, root, ErrNotFound)
	}
	return found, nil
}

// FindContainerCgroup finds a container's folder inside its pod's cgroup. id is the
// runtime's container ID, with or without its "containerd://" style prefix; systemd
// names the folder "<runtime>-<id>.scope", cgroupfs names it "<id>".
func FindContainerCgroup(podDir, id string) (string, error) {
	if i := strings.Index(id, "://"); i >= 0 {
		id = id[i+3:]
	}
	if id == "" || strings.ContainsAny(id, "/.") {
		return "", fmt.Errorf("find container cgroup: bad id %q", id)
	}
	entries, err := os.ReadDir(podDir)
	if err != nil {
		return "", fmt.Errorf("find container cgroup: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() && (n == id || strings.HasSuffix(n, "-"+id+".scope")) {
			return filepath.Join(podDir, n), nil
		}
	}
	return "", fmt.Errorf("container %s in %s: %w", id, podDir, ErrNotFound)
}

// walkDirs visits folders breadth-first up to maxDepth until visit returns true.
func walkDirs(root string, visit func(path, name string) bool) error {
	level := []string{root}
	for depth := 0; depth < maxDepth && len(level) > 0; depth++ {
		var next []string
		for _, dir := range level {
			entries, err := os.ReadDir(dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				p := filepath.Join(dir, e.Name())
				if visit(p, e.Name()) {
					return nil
				}
				next = append(next, p)
			}
		}
		level = next
	}
	return nil
}

// NetNSOf returns the network namespace path of a process in the pod's cgroup (any
// container shares the pod's namespace).
func NetNSOf(podDir string) (string, error) {
	var pid int
	err := filepath.WalkDir(podDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || pid != 0 || d.Name() != "cgroup.procs" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			pid, _ = strconv.Atoi(f[0])
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("netns of %s: %w", podDir, err)
	}
	if pid == 0 {
		return "", fmt.Errorf("netns of %s: no process: %w", podDir, ErrNotFound)
	}
	return fmt.Sprintf("/proc/%d/ns/net", pid), nil
}
