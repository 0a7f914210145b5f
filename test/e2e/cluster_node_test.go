package e2e_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/injector"
)

// pinRoot is where rampart-node pins each pod's links and maps, by pod UID
// (redirect.DefaultPinRoot; the DaemonSet mounts the host's bpffs).
const pinRoot = "/sys/fs/bpf/rampart"

func pinned(uid string) bool {
	fi, err := os.Stat(filepath.Join(pinRoot, uid))
	return err == nil && fi.IsDir()
}

// proxyPID finds, from the node (the cluster shares the host's PID namespace),
// the rampart-proxy serving pod ns/name: its environment names the pod.
func proxyPID(ns, name string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if isProxyOf(pid, ns, name) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no rampart-proxy process for pod %s/%s", ns, name)
}

func isProxyOf(pid int, ns, name string) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	comm, err := os.ReadFile(dir + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != injector.ProxyContainerName {
		return false
	}
	cmdline, _ := os.ReadFile(dir + "/cmdline")
	if bytes.Contains(cmdline, []byte("check-capture")) { // the capture gate, not the proxy
		return false
	}
	env, err := os.ReadFile(dir + "/environ")
	if err != nil {
		return false
	}
	vars := map[string]bool{}
	for _, kv := range bytes.Split(env, []byte{0}) {
		vars[string(kv)] = true
	}
	return vars["POD_NAME="+name] && vars["POD_NAMESPACE="+ns]
}

// procRSS reads VmRSS of a process, in bytes.
func procRSS(pid int) (int64, error) {
	return statusField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
}

func statusField(file, field string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("%s: no %s", file, field)
}

// memcgOf returns the memory cgroup (v1) folder of a process.
func memcgOf(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && (parts[1] == "memory" || strings.Contains(","+parts[1]+",", ",memory,")) {
			return filepath.Join("/sys/fs/cgroup/memory", parts[2]), nil
		}
	}
	return "", fmt.Errorf("pid %d: no memory cgroup (v1)", pid)
}

// memcgRSS returns the container cgroup's rss and its usage (rss + cache).
func memcgRSS(dir string) (rss, usage int64, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "total_rss "); ok {
			rss, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	u, err := os.ReadFile(filepath.Join(dir, "memory.usage_in_bytes"))
	if err == nil {
		usage, err = strconv.ParseInt(strings.TrimSpace(string(u)), 10, 64)
	}
	return rss, usage, err
}

// podCgroups2 lists the unified-hierarchy folders of a pod (the kubelet's
// cgroupfs layout, placed there by runc on a hybrid node).
func podCgroups2(uid string) []string {
	var out []string
	for _, root := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		m, _ := filepath.Glob(filepath.Join(root, "*", "kubepods*", "*", "pod"+uid))
		out = append(out, m...)
		m, _ = filepath.Glob(filepath.Join(root, "*", "kubepods*", "pod"+uid))
		out = append(out, m...)
		m, _ = filepath.Glob(filepath.Join(root, "kubepods*", "*", "pod"+uid))
		out = append(out, m...)
		m, _ = filepath.Glob(filepath.Join(root, "kubepods*", "pod"+uid))
		out = append(out, m...)
	}
	return out
}

// cgroupPrograms lists the BPF programs attached to a cgroup folder (bpftool).
func cgroupPrograms(dir string) (string, error) {
	out, err := exec.Command("bpftool", "cgroup", "show", dir).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// promText is a Prometheus text exposition.
type promText string

// sum adds the samples of metric whose labels contain every one of labels.
func (m promText) sum(metric string, labels ...string) float64 {
	var total float64
	for _, line := range strings.Split(string(m), "\n") {
		if !strings.HasPrefix(line, metric+"{") && !strings.HasPrefix(line, metric+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			total += v
		}
	}
	return total
}

// metrics reads a pod proxy's /metrics from inside the pod (loopback is never
// captured), with the demo image's curl in container c.
func (s *scenario) metrics(t *testing.T, ns, pod, c string) promText {
	t.Helper()
	out, code := s.exec(ns, pod, c, "curl", "-s", fmt.Sprintf("http://127.0.0.1:%d/metrics", injector.AdminPort))
	if code != 0 {
		t.Fatalf("%s/%s metrics: exit %d %s", ns, pod, code, out)
	}
	return promText(out)
}
