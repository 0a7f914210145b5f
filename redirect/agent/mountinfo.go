package agent

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Cgroup2Root returns the visible cgroup v2 mount listed in a mountinfo file
// (/proc/self/mountinfo). Inside rampart-node's container several can be listed:
// the runtime's own cgroup mount of the container, then the host's /sys/fs/cgroup
// bound over it (with, on hybrid nodes, cgroup2 at /sys/fs/cgroup/unified below).
// A mount hidden by a later mount at the same place or above is skipped, so the
// answer is the host tree the DaemonSet mounts.
func Cgroup2Root(mountinfo string) (string, error) {
	b, err := os.ReadFile(mountinfo)
	if err != nil {
		return "", fmt.Errorf("cgroup2 root: %w", err)
	}
	return parseCgroup2Root(string(b))
}

func parseCgroup2Root(mountinfo string) (string, error) {
	var visible []string // cgroup2 mount points not hidden so far
	for line := range strings.SplitSeq(mountinfo, "\n") {
		point, fstype, ok := mountFields(line)
		if !ok {
			continue
		}
		kept := visible[:0]
		for _, v := range visible {
			if !under(v, point) {
				kept = append(kept, v)
			}
		}
		visible = kept
		if fstype == "cgroup2" {
			visible = append(visible, point)
		}
	}
	if len(visible) == 0 {
		return "", errors.New("cgroup2 root: no cgroup2 mount")
	}
	return visible[len(visible)-1], nil
}

// mountFields reads the mount point (5th field) and the file system type (first
// field after " - ") of a mountinfo line.
func mountFields(line string) (point, fstype string, ok bool) {
	pre, post, found := strings.Cut(line, " - ")
	f, g := strings.Fields(pre), strings.Fields(post)
	if !found || len(f) < 5 || len(g) < 1 || !strings.HasPrefix(f[4], "/") {
		return "", "", false
	}
	return strings.ReplaceAll(f[4], `\040`, " "), g[0], true
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}
