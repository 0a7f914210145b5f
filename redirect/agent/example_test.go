package agent_test

import (
	"fmt"
	"path/filepath"

	"github.com/rampart-mesh/rampart/redirect/agent"
)

// Finding a pod's cgroup and its proxy container's cgroup in kubelet's systemd layout.
func ExampleFindPodCgroup() {
	root := "testdata/cgroups/systemd"
	pod, err := agent.FindPodCgroup(root, "0f3c9a2e-1b7d-4c6e-9a51-7d2e8b4f6a10")
	if err != nil {
		fmt.Println(err)
		return
	}
	proxy, err := agent.FindContainerCgroup(pod, "containerd://aaa111")
	if err != nil {
		fmt.Println(err)
		return
	}
	rel, _ := filepath.Rel(root, proxy)
	fmt.Println(rel)
	// Output:
	// kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f3c9a2e_1b7d_4c6e_9a51_7d2e8b4f6a10.slice/cri-containerd-aaa111.scope
}

// Inside rampart-node's container on a hybrid node, the runtime's own cgroup mount
// is hidden by the host's /sys/fs/cgroup, whose cgroup2 part is at unified.
func ExampleCgroup2Root() {
	root, err := agent.Cgroup2Root("testdata/mountinfo/daemonset_hybrid.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(root)
	// Output:
	// /sys/fs/cgroup/unified
}
