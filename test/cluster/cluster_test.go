package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rampart-mesh/rampart/test/cluster"
)

func TestNodeReady(t *testing.T) {
	c := need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := c.Client.CoreV1().Nodes().Get(ctx, c.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !nodeReady(n.Status.Conditions) {
		t.Fatalf("node %s not Ready: %+v", n.Name, n.Status.Conditions)
	}
	if n.Spec.PodCIDR != "198.19.0.0/24" {
		t.Errorf("podCIDR %q, want 198.19.0.0/24", n.Spec.PodCIDR)
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP && a.Address != c.NodeIP {
			t.Errorf("InternalIP %s, want %s", a.Address, c.NodeIP)
		}
	}
	if v := n.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(v, "containerd://2.") {
		t.Errorf("runtime %q, want containerd 2.x", v)
	}
}

// TestServiceAndDNS runs a plain (not injected) deathstar pod that becomes Ready
// only through its readiness probe, and reaches it from another pod through the
// Service VIP (kube-proxy) and its DNS name (CoreDNS), with the demo image's curl.
func TestServiceAndDNS(t *testing.T) {
	c := need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const ns = "plain"
	create(ctx, t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	image := c.Registry + "/rampart-demo:" + c.Tag
	create(ctx, t, c, deathstar(ns, image))
	create(ctx, t, c, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "deathstar", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "deathstar"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	})
	create(ctx, t, c, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "client", Image: image,
			Command: []string{"sleep", "3600"}}}, TerminationGracePeriodSeconds: new(int64)},
	})
	for _, p := range []string{"deathstar", "client"} {
		waitReady(ctx, t, c, ns, p)
	}
	svc, err := c.Client.CoreV1().Services(ns).Get(ctx, "deathstar", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{
		"http://" + svc.Spec.ClusterIP + "/v1/",
		"http://deathstar." + ns + ".svc.cluster.local/v1/",
		"http://deathstar/v1/", // the pod's search path
	} {
		t.Run(url, func(t *testing.T) {
			// kube-proxy programs the VIP shortly after the endpoint turns
			// Ready; until then the VIP refuses.
			deadline := time.Now().Add(30 * time.Second)
			for {
				out, err := c.Kubectl(ctx, "exec", "-n", ns, "client", "--", "curl", "-sS", "-m", "10", url)
				if err == nil && strings.Contains(out, "Death Star") {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("curl %s: %q, %v; want the deathstar's answer", url, out, err)
				}
				time.Sleep(500 * time.Millisecond)
			}
		})
	}
}

// deathstar is a plain pod Ready only once its readiness probe passes.
func deathstar(ns, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "deathstar", Namespace: ns, Labels: map[string]string{"app": "deathstar"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{
				Name: "deathstar", Image: image, Args: []string{"-listen", ":8080"},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/v1/", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
}

type object interface {
	GetName() string
}

func create(ctx context.Context, t *testing.T, c *cluster.Cluster, obj object) {
	t.Helper()
	var err error
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = c.Client.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Pod:
		_, err = c.Client.CoreV1().Pods(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Service:
		_, err = c.Client.CoreV1().Services(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	default:
		err = fmt.Errorf("create %T: not supported", obj)
	}
	if err != nil {
		t.Fatalf("create %s: %v", obj.GetName(), err)
	}
}

// waitReady waits for the pod's Ready condition; on timeout it reports the
// pod's status and events.
func waitReady(ctx context.Context, t *testing.T, c *cluster.Cluster, ns, name string) {
	t.Helper()
	for {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && podReady(p.Status.Conditions) {
			return
		}
		select {
		case <-ctx.Done():
			out, _ := c.Kubectl(context.Background(), "describe", "pod", "-n", ns, name)
			t.Fatalf("pod %s/%s not Ready: %v\n%s", ns, name, ctx.Err(), out)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func nodeReady(conds []corev1.NodeCondition) bool {
	for _, c := range conds {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func podReady(conds []corev1.PodCondition) bool {
	for _, c := range conds {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
