package kube_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestKubeFollowsTheAPIServer runs a real kube-apiserver and etcd (built by
// test/tools/kube/build.sh) and checks that what is created, changed and deleted
// through the API shows in the resolver.
func TestKubeFollowsTheAPIServer(t *testing.T) {
	env := kubetest.Start(t)
	client := env.Client
	ctx := t.Context()
	const ns = "default"
	svc := createService(t, client, ns)
	vip := netip.AddrPortFrom(netip.MustParseAddr(svc.Spec.ClusterIP), 80)

	createPod(t, client, ns, "deathstar-1", "198.18.5.2", true, map[string]string{"org": "empire"})
	createPod(t, client, ns, "tiefighter", "198.18.5.20", true, map[string]string{"org": "empire"})
	createPod(t, client, ns, "legacy", "198.18.5.9", false, nil)
	createHostNetworkPod(t, client, ns, "node-agent", "198.18.5.100")
	slice := createSlice(t, client, ns, "198.18.5.2", "198.18.5.9")
	createSliceV6(t, client, ns, "fd00::5") // the service's VIP is IPv4: never an IPv6 endpoint

	// Watches end every second, so the changes below arrive over re-watches from
	// the last resourceVersion seen, as after any dropped connection.
	var logs support.Buffer
	k, err := kube.New(kube.Options{Config: env.Config, WatchTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	k.Start(ctx)
	if err := k.Synced(ctx); err != nil {
		t.Fatal(err)
	}

	support.Eventually(t, "both endpoints", func() bool { return endpoints(k, vip) == "198.18.5.2:8080 meshed,198.18.5.9:8080 plain" })
	eps, _ := k.Endpoints(vip)
	if eps[0].Identity != "spiffe://cluster.local/ns/default/sa/deathstar-1" {
		t.Errorf("identity %q", eps[0].Identity)
	}
	tie := netip.MustParseAddr("198.18.5.20")
	peer := "spiffe://cluster.local/ns/default/sa/tiefighter"
	if got := discovery.TrustedLabels(k, tie, peer); got["org"] != "empire" {
		t.Fatalf("labels %v, want org=empire", got)
	}

	view, found := k.View(), false
	for _, sv := range view.Services {
		found = found || sv.Service == "default/deathstar" && sv.Address == vip && len(sv.Endpoints) == 2
	}
	if !found || len(view.Workloads) != 3 {
		t.Errorf("view %+v, want deathstar at %s with 2 endpoints and 3 workloads (no host-network pod)", view, vip)
	}
	if w, ok := k.Workload(netip.MustParseAddr("198.18.5.100")); ok {
		t.Errorf("the node's address resolves to host-network pod %s", w.Name)
	}

	// Label change follows, after a few re-watches.
	time.Sleep(2500 * time.Millisecond)
	listed := k.LastUpdate()
	if listed.IsZero() {
		t.Error("LastUpdate zero after the lists")
	}
	pod, _ := client.CoreV1().Pods(ns).Get(ctx, "tiefighter", metav1.GetOptions{})
	pod.Labels["org"] = "alliance"
	if _, err := client.CoreV1().Pods(ns).Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	support.Eventually(t, "the relabelled pod's labels", func() bool { return discovery.TrustedLabels(k, tie, peer)["org"] == "alliance" })
	if !k.LastUpdate().After(listed) {
		t.Errorf("LastUpdate %s did not move with the label change", k.LastUpdate())
	}
	if n := strings.Count(logs.String(), "kind=pods resourceVersion="); n < 2 {
		t.Errorf("pod watch resumed %d times in 2.5 s with a 1 s watch timeout, want ≥ 2:\n%s", n, logs.String())
	}

	// An endpoint turning unready, then removed from the slice, leaves.
	f := false
	slice.Endpoints[1].Conditions.Ready = &f
	if slice, err = client.DiscoveryV1().EndpointSlices(ns).Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	support.Eventually(t, "the meshed endpoint alone", func() bool { return endpoints(k, vip) == "198.18.5.2:8080 meshed" })

	// Deleted pods and slices leave.
	if err := client.CoreV1().Pods(ns).Delete(ctx, "tiefighter", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	support.Eventually(t, "the deleted pod gone", func() bool { _, ok := k.Workload(tie); return !ok })
	if err := client.DiscoveryV1().EndpointSlices(ns).Delete(ctx, slice.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	support.Eventually(t, "no endpoints", func() bool { return endpoints(k, vip) == "" })
	if _, ok := k.Endpoints(netip.AddrPortFrom(vip.Addr(), 81)); ok {
		t.Error("port 81 is not a service port, yet resolved")
	}

	// A resolver limited to another namespace knows nothing of default's.
	other, err := kube.New(kube.Options{Config: env.Config, Namespace: "kube-system"})
	if err != nil {
		t.Fatal(err)
	}
	other.Start(ctx)
	if err := other.Synced(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := other.Workload(netip.MustParseAddr("198.18.5.2")); ok {
		t.Error("a kube-system resolver resolves a pod of default")
	}
}

// TestSyncedFailsWhenRefused checks that a proxy the API server refuses (no
// credentials here; missing RBAC in a cluster) is told so at once, with the
// server's reason, instead of waiting for a timeout.
func TestSyncedFailsWhenRefused(t *testing.T) {
	env := kubetest.Start(t)
	k, err := kube.New(kube.Options{Config: rest.AnonymousClientConfig(env.Config)})
	if err != nil {
		t.Fatal(err)
	}
	k.Start(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = k.Synced(ctx)
	if !errors.Is(err, kube.ErrRefused) || !apierrors.IsUnauthorized(err) && !apierrors.IsForbidden(err) {
		t.Fatalf("Synced as anonymous: %v, want ErrRefused with a 401 or 403", err)
	}
	if _, ok := k.Workload(netip.MustParseAddr("198.18.5.2")); ok {
		t.Error("a refused resolver knows a workload")
	}
}

func endpoints(k *kube.Resolver, vip netip.AddrPort) string {
	eps, _ := k.Endpoints(vip)
	var out []string
	for _, ep := range eps {
		kind := "plain"
		if ep.Meshed {
			kind = "meshed"
		}
		out = append(out, ep.Addr.String()+" "+kind)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func createService(t *testing.T, c *kubernetes.Clientset, ns string) *corev1.Service {
	t.Helper()
	svc, err := c.CoreV1().Services(ns).Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "deathstar"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func createPod(t *testing.T, c *kubernetes.Clientset, ns, name, ip string, meshed bool, labels map[string]string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{ServiceAccountName: name,
			Containers: []corev1.Container{{Name: "app", Image: "app"}}},
	}
	if meshed {
		always := corev1.ContainerRestartPolicyAlways
		pod.Spec.InitContainers = []corev1.Container{{Name: "rampart-proxy", Image: "rampart", RestartPolicy: &always}}
	}
	created, err := c.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// No kubelet runs here: set the IP the way a kubelet would, through pods/status.
	created.Status.Phase = corev1.PodRunning
	created.Status.PodIP = ip
	created.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createSlice(t *testing.T, c *kubernetes.Clientset, ns string, ips ...string) *discoveryv1.EndpointSlice {
	t.Helper()
	name, port, ready := "http", int32(8080), true
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "deathstar-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "deathstar"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
	}
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	created, err := c.DiscoveryV1().EndpointSlices(ns).Create(t.Context(), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// createHostNetworkPod creates a pod whose IP is the node's.
func createHostNetworkPod(t *testing.T, c *kubernetes.Clientset, ns, name, nodeIP string) {
	t.Helper()
	pod, err := c.CoreV1().Pods(ns).Create(t.Context(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"org": "empire"}},
		Spec: corev1.PodSpec{HostNetwork: true, ServiceAccountName: name,
			Containers: []corev1.Container{{Name: "agent", Image: "agent"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase, pod.Status.PodIP, pod.Status.PodIPs = corev1.PodRunning, nodeIP, []corev1.PodIP{{IP: nodeIP}}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createSliceV6(t *testing.T, c *kubernetes.Clientset, ns, ip string) {
	t.Helper()
	name, port := "http", int32(8080)
	_, err := c.DiscoveryV1().EndpointSlices(ns).Create(t.Context(), &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "deathstar-v6", Labels: map[string]string{discoveryv1.LabelServiceName: "deathstar"}},
		AddressType: discoveryv1.AddressTypeIPv6,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}
