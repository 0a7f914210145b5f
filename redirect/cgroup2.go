package redirect

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Cgroup2Mount returns where the cgroup v2 hierarchy is mounted, from /proc/mounts.
// Capture attaches to cgroup v2 folders, and machines mount the hierarchy in
// different places (/sys/fs/cgroup, /sys/fs/cgroup/unified).
func Cgroup2Mount() (string, error) {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "", fmt.Errorf("cgroup2 mount: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[2] == "cgroup2" {
			return f[1], nil
		}
	}
	return "", errors.New("cgroup2 mount: none in /proc/mounts")
}
