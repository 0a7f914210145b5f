package demo

import (
	"fmt"
	"os"
	"strings"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// MissingError lists what this machine lacks to run the demo, one item per thing,
// each saying how to get it.
type MissingError struct{ Missing []string }

func (e *MissingError) Error() string {
	return "demo: this machine cannot run the demo:\n  - " + strings.Join(e.Missing, "\n  - ")
}

// Check reports everything the demo needs and the machine lacks: root, a cgroup v2
// mount, bpffs, the kernel's eBPF capture features, and the ip and nsenter tools.
func Check() error {
	var miss []string
	if os.Geteuid() != 0 {
		miss = append(miss, "root: network namespaces, cgroups and eBPF need it (run with sudo)")
	}
	if _, err := redirect.Cgroup2Mount(); err != nil {
		miss = append(miss, "a cgroup v2 mount (none in /proc/mounts; mount -t cgroup2 none /sys/fs/cgroup/unified)")
	}
	if os.Geteuid() == 0 {
		if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
			miss = append(miss, fmt.Sprintf("bpffs at %s: %v", redirect.BPFFSRoot, err))
		}
		if err := redirect.CheckKernel(); err != nil {
			miss = append(miss, fmt.Sprintf("kernel eBPF support: %v", err))
		}
	}
	for _, tool := range []string{"ip", "nsenter"} {
		if !netpod.HaveTool(tool) {
			miss = append(miss, tool+" (Debian: apt-get install iproute2 util-linux)")
		}
	}
	if len(miss) > 0 {
		return &MissingError{Missing: miss}
	}
	return nil
}
