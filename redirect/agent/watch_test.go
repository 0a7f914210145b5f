package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/redirect/agent"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
	"github.com/rampart-mesh/rampart/test/support"
	"github.com/rampart-mesh/rampart/test/support/kubeapi"
)

// TestWatchFollowsTheAPIServer runs the agent's informer against a real
// kube-apiserver and etcd (built by test/tools/kube/build.sh): a pod bound to this
// node and carrying the proxy is captured once its status names its IPs and proxy
// container, a pod of another node is not, and deleting the pod detaches it.
func TestWatchFollowsTheAPIServer(t *testing.T) {
	podtest.RequireRoot(t)
	cfg, client := startAPIServer(t)
	ctx := t.Context()
	pods := client.CoreV1().Pods("default")
	other, err := pods.Create(ctx, apiPod(t, "elsewhere", "node-b"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Running, with IPs and a proxy: were it watched, its missing cgroup would count
	// as an attach failure.
	other.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "198.18.6.250"}},
		InitContainerStatuses: []corev1.ContainerStatus{{Name: "rampart-proxy", ContainerID: "containerd://fff666"}}}
	if _, err := pods.UpdateStatus(ctx, other, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	created, err := pods.Create(ctx, apiPod(t, "deathstar", "node-a"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := newNodeFor(t, created.DeepCopy())
	created.Status = n.pod.Status // the IPs of pod A on this test node
	created.Status.Phase = corev1.PodRunning
	created.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "rampart-proxy", ContainerID: "containerd://aaa111"}}
	if _, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	r := n.reconciler(t, reg)
	done := make(chan error, 1)
	watchCtx, stop := contextWithCancel(t)
	go func() { done <- agent.Watch(watchCtx, cfg, "node-a", r) }()
	toC := n.c.IP4.String() + ":80"
	support.EventuallyWithin(t, 30*time.Second, "pod attached", func() bool { return slices.Equal(r.Attached(), []string{string(created.UID)}) })
	if s := dial(t, n.a, toC); s.Listener != "127.0.0.1:15001" || s.OrigDst != toC {
		t.Fatalf("A→C answered by %s orig %s", s.Listener, s.OrigDst)
	}
	if err := pods.Delete(ctx, "deathstar", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	killPod(t, n.a) // as the kubelet stops a deleted pod's containers
	support.EventuallyWithin(t, 30*time.Second, "pod detached", func() bool { return len(r.Attached()) == 0 })
	if s := dial(t, n.a, toC); s.Listener != ":80" {
		t.Errorf("after delete A→C answered by %s", s.Listener)
	}
	checkMetric(t, reg, "rampart_node_attach_failures_total", 0) // node-b's pod unseen
	stop()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
}

func apiPod(t *testing.T, name, node string) *corev1.Pod {
	p := readPod(t, "injected_strict.json")
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: p.Annotations},
		Spec: corev1.PodSpec{
			NodeName:       node,
			Containers:     []corev1.Container{{Name: "app", Image: "deathstar"}},
			InitContainers: []corev1.Container{{Name: "rampart-proxy", Image: "rampart-proxy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// killPod kills every process in the pod's cgroups and waits until none is left.
// (Not cgroup.kill: a process cloned into the cgroup afterwards was killed too.)
func killPod(t *testing.T, p *podtest.Pod) {
	t.Helper()
	for _, dir := range []string{p.Cgroup, p.AppCgroup, p.ProxyCgroup} {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	support.EventuallyWithin(t, 30*time.Second, "pod processes gone", func() bool {
		_, err := agent.NetNSOf(p.Cgroup)
		return err != nil
	})
}

// startAPIServer returns the kube-apiserver and etcd the package's tests share
// (each test uses its own node name), stopped by TestMain.
func startAPIServer(t *testing.T) (*rest.Config, *kubernetes.Clientset) {
	t.Helper()
	s := kubeapi.Shared(t)
	return s.Config, s.Client
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}
