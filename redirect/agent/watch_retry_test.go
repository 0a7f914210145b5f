package agent_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/redirect/agent"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
	"github.com/rampart-mesh/rampart/test/support"
)

// createRunning creates an injected pod bound to node and reports it running with
// the given IPs and proxy container, as the kubelet would.
func createRunning(t *testing.T, pods typedcorev1.PodInterface, p *corev1.Pod, ips []netip.Addr, proxyID string) *corev1.Pod {
	t.Helper()
	created, err := pods.Create(t.Context(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status.Phase = corev1.PodRunning
	for _, ip := range ips {
		created.Status.PodIPs = append(created.Status.PodIPs, corev1.PodIP{IP: ip.String()})
	}
	created.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "rampart-proxy", ContainerID: "containerd://" + proxyID}}
	updated, err := pods.UpdateStatus(t.Context(), created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return updated
}

// startWatch runs agent.Watch until the test ends or stop is called; stop returns
// Watch's error.
func startWatch(t *testing.T, r *agent.Reconciler, node string) (stop func() error) {
	t.Helper()
	cfg, _ := startAPIServer(t)
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- agent.Watch(ctx, cfg, node, r) }()
	t.Cleanup(func() { cancel(); <-done })
	return func() error {
		cancel()
		err := <-done
		done <- err // for the cleanup
		return err
	}
}

// TestWatchRetriesPodsWithBackoff runs three injected pods of one node through the
// agent's workqueue: "good" is captured at once; "late" is running but its cgroup
// appears only later, and "broken" carries an exclusion the agent refuses. Neither
// holds up "good"; both are retried with backoff (a bounded number of tries per
// second, not a hot loop); "late" is captured once its cgroup and proxy appear.
func TestWatchRetriesPodsWithBackoff(t *testing.T) {
	podtest.RequireRoot(t)
	_, client := startAPIServer(t)
	pods := client.CoreV1().Pods("default")
	good := createRunning(t, pods, apiPod(t, "good", "node-retry"), nil, "aaa111")
	n := newNodeFor(t, good.DeepCopy())
	good.Status.PodIPs = n.pod.Status.PodIPs
	if _, err := pods.UpdateStatus(t.Context(), good, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	lateIP := netip.MustParseAddr("198.18.6.131")
	late := createRunning(t, pods, apiPod(t, "late", "node-retry"), []netip.Addr{lateIP}, "ddd444")
	broken := apiPod(t, "broken", "node-retry")
	broken.Annotations["rampart.io/exclude-outbound-ports"] = "http"
	createRunning(t, pods, broken, []netip.Addr{netip.MustParseAddr("198.18.6.132")}, "eee555")

	reg := prometheus.NewRegistry()
	r, err := agent.New(agent.Options{CgroupRoot: n.env.Cgroup, PinRoot: n.pinRoot, Registerer: reg, Logger: testLogger(t),
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	startWatch(t, r, "node-retry")
	support.EventuallyWithin(t, 30*time.Second, "good pod attached", func() bool { return slices.Contains(r.Attached(), string(good.UID)) })
	toC := n.c.IP4.String() + ":80"
	if s := dial(t, n.a, toC); s.Listener != "127.0.0.1:15001" {
		t.Fatalf("good A→C answered by %s", s.Listener)
	}
	// Both failing pods at the 200ms cap: 20+40+80+160ms, then 200ms apart.
	support.EventuallyWithin(t, 30*time.Second, "failing pods retried", func() bool { return metricValue(t, reg, "rampart_node_attach_failures_total") >= 10 })
	before := metricValue(t, reg, "rampart_node_attach_failures_total")
	time.Sleep(time.Second)
	tries := metricValue(t, reg, "rampart_node_attach_failures_total") - before
	if tries < 1 || tries > 40 {
		t.Errorf("%v retries of 2 failing pods in 1s, want 1..40 (about 10 at a 200ms cap)", tries)
	}
	if got := r.Attached(); len(got) != 1 {
		t.Fatalf("attached %v, want only the good pod", got)
	}
	for _, reason := range []string{"pending", "error"} { // late, broken
		if v := labelledValue(t, reg, "rampart_node_sync_retries_total", "reason", reason); v < 1 {
			t.Errorf("rampart_node_sync_retries_total{reason=%q} = %v, want ≥ 1", reason, v)
		}
	}

	l := n.env.PodIn("late", podtest.Layout{Cgroup: "kubepods/besteffort/pod" + string(late.UID), App: "fff666", Proxy: "ddd444"}, lateIP, netip.Addr{})
	serve(t, l, l.ProxyCgroup, "127.0.0.1:15001", ":15006")
	support.EventuallyWithin(t, 30*time.Second, "late pod attached", func() bool { return slices.Contains(r.Attached(), string(late.UID)) })
	if s := dial(t, l, toC); s.Listener != "127.0.0.1:15001" || s.OrigDst != toC {
		t.Fatalf("late L→C answered by %s orig %s", s.Listener, s.OrigDst)
	}
}

// TestWatchDetachesPodsDeletedWhileDown: an agent captures a pod and stops (the pod
// stays captured and pinned); the pod is deleted while no agent runs; the next
// agent adopts the pins, finds the pod gone from the API, keeps capture while the
// pod's processes still run (a forced delete), and detaches and unpins it once they
// are gone. The agent reports ready once its cache has synced.
func TestWatchDetachesPodsDeletedWhileDown(t *testing.T) {
	podtest.RequireRoot(t)
	_, client := startAPIServer(t)
	pods := client.CoreV1().Pods("default")
	p := createRunning(t, pods, apiPod(t, "shortlived", "node-down"), nil, "aaa111")
	n := newNodeFor(t, p.DeepCopy())
	p.Status.PodIPs = n.pod.Status.PodIPs
	if _, err := pods.UpdateStatus(t.Context(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	first := n.reconciler(t, nil)
	stop := startWatch(t, first, "node-down")
	support.EventuallyWithin(t, 30*time.Second, "pod attached", func() bool { return slices.Equal(first.Attached(), []string{string(p.UID)}) })
	support.EventuallyWithin(t, 30*time.Second, "first agent ready", first.Ready)
	if err := stop(); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	toC := n.c.IP4.String() + ":80"
	if s := dial(t, n.a, toC); s.Listener != "127.0.0.1:15001" {
		t.Fatalf("with no agent A→C answered by %s, want the proxy", s.Listener)
	}
	if err := pods.Delete(t.Context(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	second := n.reconciler(t, reg)
	if got := second.Attached(); !slices.Equal(got, []string{string(p.UID)}) {
		t.Fatalf("second agent adopted %v", got)
	}
	startWatch(t, second, "node-down")
	// Gone from the API but its processes still run (a forced delete): kept.
	support.EventuallyWithin(t, 30*time.Second, "gone pod retried", func() bool {
		return labelledValue(t, reg, "rampart_node_sync_retries_total", "reason", "pending") >= 2
	})
	if got := second.Attached(); len(got) != 1 {
		t.Fatalf("pod detached while its processes run: attached %v", got)
	}
	killPod(t, n.a)
	support.EventuallyWithin(t, 30*time.Second, "gone pod detached", func() bool { return len(second.Attached()) == 0 })
	support.EventuallyWithin(t, 30*time.Second, "second agent ready", second.Ready)
	if pinned, err := redirect.Pinned(n.pinRoot); err != nil || len(pinned) != 0 {
		t.Errorf("pins left after detach: %v, %v", pinned, err)
	}
	if _, err := os.Stat(filepath.Join(n.pinRoot, string(p.UID))); !os.IsNotExist(err) {
		t.Errorf("pin folder of the gone pod: %v", err)
	}
	if s := dial(t, n.a, toC); s.Listener != ":80" {
		t.Errorf("after detach A→C answered by %s, want C's app", s.Listener)
	}
}

// labelledValue reads one series of a counter vector.
func labelledValue(t *testing.T, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			for _, lp := range m.Label {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.Counter.GetValue()
				}
			}
		}
	}
	return 0
}
