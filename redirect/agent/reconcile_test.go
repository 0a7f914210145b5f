package agent_test

import (
	"encoding/json"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/agent"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
)

// node is a fake-free node: pod A laid out like kubelet's cgroupfs driver
// (kubepods/burstable/pod<uid>/<container id>) in its own netns, and an uncaptured
// pod C; addresses from 198.18.6.128/25.
type node struct {
	env     *podtest.Env
	a, c    *podtest.Pod
	pod     *corev1.Pod
	pinRoot string
}

func newNode(t *testing.T) *node {
	t.Helper()
	return newNodeFor(t, readPod(t, "injected_strict.json"))
}

// newNodeFor lays pod A out for the given pod object (its UID names the cgroup).
func newNodeFor(t *testing.T, pod *corev1.Pod) *node {
	t.Helper()
	env := podtest.New(t, "agt")
	n := &node{env: env, pod: pod}
	layout := podtest.Layout{Cgroup: "kubepods/burstable/pod" + string(n.pod.UID), App: "bbb222", Proxy: "aaa111"}
	n.a = env.PodIn("a", layout, netip.MustParseAddr("198.18.6.129"), netip.MustParseAddr("2001:2:0:6::129"))
	n.c = env.Pod("c", netip.MustParseAddr("198.18.6.130"), netip.Addr{})
	n.pod.Status.PodIPs = []corev1.PodIP{{IP: n.a.IP4.String()}, {IP: n.a.IP6.String()}}
	serve(t, n.a, n.a.ProxyCgroup, "127.0.0.1:15001", "[::1]:15001", ":15006")
	serve(t, n.a, n.a.AppCgroup, ":80")
	serve(t, n.c, n.c.AppCgroup, ":80")
	n.pinRoot = newPinRoot(t, env)
	return n
}

// newPinRoot is the Env's own folder in bpffs, removed (with what is pinned there)
// when the test ends.
func newPinRoot(t *testing.T, env *podtest.Env) string {
	t.Helper()
	if err := redirect.EnsureBPFFS(redirect.BPFFSRoot); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(redirect.BPFFSRoot, env.Prefix)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func serve(t *testing.T, pod *podtest.Pod, cgroup string, addrs ...string) {
	t.Helper()
	if l := pod.Start(t, cgroup, append([]string{"serve"}, addrs...)...).Line(); l != "READY" {
		t.Fatalf("serve: %q", l)
	}
}

// dial returns which listener answered a connection from pod's app, and the
// original destination it was told.
func dial(t *testing.T, pod *podtest.Pod, addr string) podtest.Served {
	t.Helper()
	r, err := podtest.ParseResult(pod.Start(t, pod.AppCgroup, "dial", addr).Line())
	if err != nil || r.Err != "" {
		t.Fatalf("dial %s: %v %s", addr, err, r.Err)
	}
	s, _ := podtest.ParseServed(r.Line)
	return s
}

func (n *node) reconciler(t *testing.T, reg prometheus.Registerer) *agent.Reconciler {
	t.Helper()
	r, err := agent.New(agent.Options{CgroupRoot: n.env.Cgroup, PinRoot: n.pinRoot, Registerer: reg, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReconcile syncs an injected pod on the real kernel: the agent finds its cgroup,
// netns, proxy container and inbound listener; outbound and inbound are captured;
// metrics count it; removing it restores direct traffic.
func TestReconcile(t *testing.T) {
	n := newNode(t)
	reg := prometheus.NewRegistry()
	r := n.reconciler(t, reg)
	t.Cleanup(func() { _ = r.Prune(nil) })
	if err := r.Sync(n.pod); err != nil {
		t.Fatal(err)
	}
	toC, toA := n.c.IP4.String()+":80", n.a.IP4.String()+":80"
	if s := dial(t, n.a, toC); s.Listener != "127.0.0.1:15001" || s.OrigDst != toC {
		t.Errorf("A→C answered by %s orig %s, want the outbound listener", s.Listener, s.OrigDst)
	}
	if s := dial(t, n.c, toA); s.Listener != ":15006" || s.OrigDst != toA {
		t.Errorf("C→A answered by %s orig %s, want the inbound listener", s.Listener, s.OrigDst)
	}
	checkMetric(t, reg, "rampart_node_pods_attached", 1)
	checkMetric(t, reg, "rampart_node_attach_failures_total", 0)
	checkProxyRestart(t, n, r, toC)
	if metricValue(t, reg, "rampart_node_map_entries") < 1 {
		t.Error("rampart_node_map_entries{map=orig_dst} < 1 after a redirected connection")
	}
	missing := n.pod.DeepCopy() // a running pod without a cgroup on this node
	missing.UID = "11111111-2222-3333-4444-555555555555"
	if err := r.Sync(missing); err == nil {
		t.Error("sync of a pod without a cgroup succeeded")
	}
	checkMetric(t, reg, "rampart_node_attach_failures_total", 1)
	pending := readPod(t, "injected_by_container.json") // no IPs, no proxy container yet
	if err := r.Sync(pending); err != nil || len(r.Attached()) != 1 {
		t.Errorf("sync of a pending pod: %v, attached %v", err, r.Attached())
	}
	if err := r.Remove(string(n.pod.UID)); err != nil {
		t.Fatal(err)
	}
	if s := dial(t, n.a, toC); s.Listener != ":80" {
		t.Errorf("after delete A→C answered by %s, want C's app", s.Listener)
	}
	if s := dial(t, n.c, toA); s.Listener != ":80" {
		t.Errorf("after delete C→A answered by %s, want A's app", s.Listener)
	}
	checkMetric(t, reg, "rampart_node_pods_attached", 0)
}

// TestAgentKillAndRestart: an agent process attaches pod A and is SIGKILLed; A stays
// captured; a new agent adopts it, syncs it without attaching twice, and prunes it
// once the pod is gone.
func TestAgentKillAndRestart(t *testing.T) {
	n := newNode(t)
	podJSON, _ := json.Marshal(n.pod)
	first := n.env.StartIn(t, "/proc/self/ns/net", n.env.Cgroup, "agent", n.env.Cgroup, n.pinRoot, string(podJSON))
	if l := first.Line(); l != "READY" {
		t.Fatalf("agent: %q", l)
	}
	first.Kill()
	toC := n.c.IP4.String() + ":80"
	if s := dial(t, n.a, toC); s.Listener != "127.0.0.1:15001" {
		t.Fatalf("after agent kill A→C answered by %s", s.Listener)
	}
	r := n.reconciler(t, nil)
	if got := r.Attached(); !slices.Equal(got, []string{string(n.pod.UID)}) {
		t.Fatalf("adopted %v", got)
	}
	if err := r.Sync(n.pod); err != nil {
		t.Fatalf("sync adopted pod: %v", err)
	}
	if s := dial(t, n.a, toC); s.Listener != "127.0.0.1:15001" || s.OrigDst != toC {
		t.Fatalf("after restart A→C answered by %s orig %s", s.Listener, s.OrigDst)
	}
	if err := r.Prune(map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if s := dial(t, n.a, toC); s.Listener != ":80" {
		t.Errorf("after prune A→C answered by %s", s.Listener)
	}
}

// testLogger shows the agent's logs with the test's output (on failure or -v).
func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

func metricValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) > 0 {
			m := mf.Metric[0]
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func checkMetric(t *testing.T, g prometheus.Gatherer, name string, want float64) {
	t.Helper()
	if got := metricValue(t, g, name); got != want {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

// checkProxyRestart moves the proxy container to a new cgroup, as a container restart
// does: once synced, connections from the new cgroup go direct.
func checkProxyRestart(t *testing.T, n *node, r *agent.Reconciler, to string) {
	t.Helper()
	dir := filepath.Join(n.a.Cgroup, "ccc333")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n.pod.Status.InitContainerStatuses[0].ContainerID = "containerd://ccc333"
	if err := r.Sync(n.pod); err != nil {
		t.Fatal(err)
	}
	res, err := podtest.ParseResult(n.env.StartIn(t, n.a.NetNS, dir, "dial", to).Line())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := podtest.ParseServed(res.Line); s.Listener != ":80" {
		t.Errorf("restarted proxy's connection answered by %q (%s), want C's app", s.Listener, res.Err)
	}
}

// TestReconcileNewAddresses: a pod whose addresses change (a new sandbox in the same
// pod cgroup) is attached again, so inbound capture follows the new address.
func TestReconcileNewAddresses(t *testing.T) {
	n := newNode(t)
	r := n.reconciler(t, nil)
	t.Cleanup(func() { _ = r.Prune(nil) })
	if err := r.Sync(n.pod); err != nil {
		t.Fatal(err)
	}
	moved := netip.MustParseAddr("198.18.6.133")
	n.env.Run(n.a.NetNS, "addr", "add", moved.String()+"/24", "dev", "eth0")
	toMoved := moved.String() + ":80"
	if s := dial(t, n.c, toMoved); s.Listener != ":80" {
		t.Fatalf("C→A's new address answered by %s before the sync, want A's app (capture keyed by the old IPs)", s.Listener)
	}
	n.pod.Status.PodIPs = []corev1.PodIP{{IP: moved.String()}}
	if err := r.Sync(n.pod); err != nil {
		t.Fatal(err)
	}
	if s := dial(t, n.c, toMoved); s.Listener != ":15006" || s.OrigDst != toMoved {
		t.Errorf("C→A's new address answered by %s orig %s, want the inbound listener", s.Listener, s.OrigDst)
	}
	toC := n.c.IP4.String() + ":80"
	if s := dial(t, n.a, toC); s.Listener != "127.0.0.1:15001" {
		t.Errorf("A→C answered by %s after attaching again", s.Listener)
	}
}
