package agent_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-mesh/rampart/redirect/agent"
)

type cgroupCase struct {
	Name, Tree, UID, Container     string
	Pod, ContainerDir, NetNS       string
	PodErr, ContainerErr, NetNSErr bool
}

// TestCgroupDiscovery finds pods, their proxy containers and their network
// namespaces in kubelet's systemd and cgroupfs layouts (trees in testdata/cgroups).
func TestCgroupDiscovery(t *testing.T) {
	b, err := os.ReadFile("testdata/cgroup_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []cgroupCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			root := filepath.Join("testdata/cgroups", c.Tree)
			pod, err := agent.FindPodCgroup(root, c.UID)
			if c.PodErr {
				if err == nil {
					t.Fatalf("found %s, want an error", pod)
				}
				return
			}
			if err != nil || pod != filepath.Join(root, c.Pod) {
				t.Fatalf("pod cgroup = %q, %v; want %q", pod, err, c.Pod)
			}
			checkNetNS(t, pod, c)
			if c.Container == "" {
				return
			}
			dir, err := agent.FindContainerCgroup(pod, c.Container)
			if c.ContainerErr {
				if err == nil {
					t.Fatalf("found container %s, want an error", dir)
				}
				return
			}
			if err != nil || dir != filepath.Join(pod, c.ContainerDir) {
				t.Fatalf("container cgroup = %q, %v; want %q", dir, err, c.ContainerDir)
			}
		})
	}
}

func checkNetNS(t *testing.T, pod string, c cgroupCase) {
	t.Helper()
	ns, err := agent.NetNSOf(pod)
	if c.NetNSErr {
		if !errors.Is(err, agent.ErrNotFound) {
			t.Fatalf("netns = %q, %v; want ErrNotFound", ns, err)
		}
		return
	}
	if err != nil || ns != c.NetNS {
		t.Fatalf("netns = %q, %v; want %q", ns, err, c.NetNS)
	}
}
