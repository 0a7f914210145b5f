package main_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestKubeDiscovery runs rampart-proxy with --discovery kube against a real
// kube-apiserver and etcd. deathstar's inbound proxy takes source.labels from the
// API server: tiefighter's pod (its address, namespace and service account) says
// org=empire, so tiefighter lands, xwing (another service account, same address)
// does not borrow the label, and a label change through the API takes effect. A
// Service with an EndpointSlice created through the API shows in the proxy's
// /debug/config, and an endpoint deleted there leaves it.
func TestKubeDiscovery(t *testing.T) {
	env := kubetest.Start(t)
	bin := buildProxy(t)
	dir := t.TempDir()
	if _, err := identity.InitCA(filepath.Join(dir, "ca"), spiffeid.RequireTrustDomainFromString("cluster.local"), 0); err != nil {
		t.Fatal(err)
	}
	c := env.Client
	kubePod(t, c, "tiefighter", "127.0.0.1", map[string]string{"org": "empire"}) // where the client proxies' tunnels come from
	kubePod(t, c, "deathstar-1", "198.18.7.2", map[string]string{"app": "deathstar"})

	var seen atomic.Int32
	app := serveApp(t, &seen)
	hbone, admin := freeAddr(t), freeAddr(t)
	common := []string{"--bundle", "../../policies/starwars", "--ca-dir", filepath.Join(dir, "ca")}
	startProxy(t, bin, append(common, "--service-account", "deathstar", "--listen-hbone", hbone,
		"--upstream", app, "--labels", "app=deathstar", "--discovery", "kube", "--kubeconfig", env.Kubeconfig, "--listen-admin", admin)...)
	tie, xwing := freeAddr(t), freeAddr(t)
	startProxy(t, bin, append(common, "--service-account", "tiefighter", "--route", tie+"=127.0.0.1:80,proxy="+hbone)...)
	startProxy(t, bin, append(common, "--service-account", "xwing", "--route", xwing+"=127.0.0.1:80,proxy="+hbone)...)
	waitReady(t, admin, 20*time.Second)

	if code := request(t, tie, "POST", "/v1/request-landing"); code != 200 {
		t.Errorf("tiefighter (org=empire from the API server) lands: %d, want 200\n%s", code, fetchBody(t, "http://"+admin+"/debug/config"))
	}
	if code := request(t, xwing, "POST", "/v1/request-landing"); code != 403 {
		t.Errorf("xwing from tiefighter's address: %d, want 403 (labels only for the matching service account)", code)
	}
	relabel(t, c, "tiefighter", "alliance")
	support.Eventually(t, "tiefighter refused after its label changed", func() bool {
		return request(t, tie, "POST", "/v1/request-landing") == 403
	})

	vip := kubeService(t, c)
	slice := kubeSlice(t, c, "198.18.7.2", "198.18.7.3")
	support.Eventually(t, "service endpoints in /debug/config", func() bool {
		return viewEndpoints(t, admin, vip) == "198.18.7.2:8080 meshed,198.18.7.3:8080 plain"
	})
	slice.Endpoints = slice.Endpoints[:1]
	if _, err := c.DiscoveryV1().EndpointSlices("default").Update(t.Context(), slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	support.Eventually(t, "deleted endpoint left /debug/config", func() bool {
		return viewEndpoints(t, admin, vip) == "198.18.7.2:8080 meshed"
	})
}

// TestKubeDiscoveryBadFlags: a proxy told to use Kubernetes but unable to says
// why and exits non-zero.
func TestKubeDiscoveryBadFlags(t *testing.T) {
	bin := buildProxy(t)
	base := []string{"--bundle", "../../sidecar/testdata/landing", "--listen-plaintext", "127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--discovery", "dns"}, "want file, node or kube"},
		{[]string{"--discovery", "kube"}, "KUBERNETES_SERVICE_HOST"},
		{[]string{"--discovery", "kube", "--kubeconfig", "nope.yaml"}, "kubeconfig"},
		{[]string{"--discovery", "kube", "--kubeconfig", "../../sidecar/discovery/kube/testdata/kubeconfig/bad-exec.yaml"}, "exec plugins"},
		{[]string{"--discovery", "kube", "--registry", "r.json", "--kubeconfig", "x"}, "--registry is for --discovery file"},
		{[]string{"--discovery-namespace", "default"}, "needs --discovery kube"},
	} {
		cmd := exec.Command(bin, append(base, tc.args...)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"} // no KUBERNETES_SERVICE_HOST, no KUBECONFIG
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: err %v, output %s, want it to say %q", tc.args, err, out, tc.want)
		}
	}
}

func viewEndpoints(t *testing.T, admin string, vip netip.AddrPort) string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/debug/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cfg struct {
		Discovery struct {
			Source string    `json:"source"`
			View   kube.View `json:"view"`
		} `json:"discovery"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil || cfg.Discovery.Source != "kube" {
		t.Fatalf("/debug/config: %v, discovery %+v", err, cfg.Discovery)
	}
	var out []string
	for _, s := range cfg.Discovery.View.Services {
		if s.Address != vip {
			continue
		}
		for _, ep := range s.Endpoints {
			kind := map[bool]string{true: "meshed", false: "plain"}[ep.Meshed]
			out = append(out, ep.Addr.String()+" "+kind)
		}
	}
	return strings.Join(out, ",")
}

// kubePod creates a meshed pod and sets its IP through pods/status, as a
// kubelet would (none runs here).
func kubePod(t *testing.T, c *kubernetes.Clientset, name, ip string, labels map[string]string) {
	t.Helper()
	always := corev1.ContainerRestartPolicyAlways
	pod, err := c.CoreV1().Pods("default").Create(t.Context(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{ServiceAccountName: name, NodeName: "node-a",
			InitContainers: []corev1.Container{{Name: "rampart-proxy", Image: "rampart", RestartPolicy: &always}},
			Containers:     []corev1.Container{{Name: "app", Image: "app"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase, pod.Status.PodIP, pod.Status.PodIPs = corev1.PodRunning, ip, []corev1.PodIP{{IP: ip}}
	if _, err := c.CoreV1().Pods("default").UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func relabel(t *testing.T, c *kubernetes.Clientset, name, org string) {
	t.Helper()
	pod, err := c.CoreV1().Pods("default").Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Labels["org"] = org
	if _, err := c.CoreV1().Pods("default").Update(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func kubeService(t *testing.T, c *kubernetes.Clientset) netip.AddrPort {
	t.Helper()
	svc, err := c.CoreV1().Services("default").Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "deathstar"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(netip.MustParseAddr(svc.Spec.ClusterIP), 80)
}

func kubeSlice(t *testing.T, c *kubernetes.Clientset, ips ...string) *discoveryv1.EndpointSlice {
	t.Helper()
	name, port := "http", int32(8080)
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "deathstar-x", Labels: map[string]string{discoveryv1.LabelServiceName: "deathstar"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
	}
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}})
	}
	created, err := c.DiscoveryV1().EndpointSlices("default").Create(t.Context(), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}
