package catalog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rampart-mesh/rampart/redirect/agent/catalog"
	"github.com/rampart-mesh/rampart/test/support/kubeapi"
)

func TestMain(m *testing.M) { os.Exit(kubeapi.Main(m)) }

// apiClient is the kube-apiserver and etcd the catalog's tests share (each test
// uses its own namespaces), stopped by TestMain.
func apiClient(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	return kubeapi.Shared(t).Client
}

// cluster is the objects every catalog test sees: namespaces <prefix>empire
// and <prefix>alliance, pods of node-a in both and one of node-b in empire, a
// service in each; pod IPs are 198.18.<subnet>.2-5 (distinct per test: the
// tests share one API server).
type cluster struct {
	uids map[string]string // pod name → UID
}

func makeCluster(t *testing.T, c *kubernetes.Clientset, prefix string, subnet int) cluster {
	t.Helper()
	ctx := t.Context()
	cl := cluster{uids: map[string]string{}}
	for _, ns := range []string{prefix + "empire", prefix + "alliance"} {
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct{ ns, name, node, ip, org string }{
		{"empire", "deathstar", "node-a", ".2", "empire"},
		{"empire", "tiefighter", "node-a", ".3", "empire"},
		{"alliance", "xwing", "node-a", ".4", "alliance"},
		{"empire", "elsewhere", "node-b", ".5", "empire"},
	} {
		p.ip = fmt.Sprintf("198.18.%d%s", subnet, p.ip)
		pod, err := c.CoreV1().Pods(prefix+p.ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: p.name, Labels: map[string]string{"org": p.org}},
			Spec: corev1.PodSpec{ServiceAccountName: p.name, NodeName: p.node, Containers: []corev1.Container{
				{Name: "app", Image: "secret-image", Env: []corev1.EnvVar{{Name: "PASSWORD", Value: "hunter2"}}},
				{Name: "rampart-proxy", Image: "rampart"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Status.Phase, pod.Status.PodIP, pod.Status.PodIPs = corev1.PodRunning, p.ip, []corev1.PodIP{{IP: p.ip}}
		if _, err := c.CoreV1().Pods(prefix+p.ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		cl.uids[p.name] = string(pod.UID)
	}
	for _, s := range []struct{ ns, name, ip string }{{"empire", "deathstar", ".2"}, {"alliance", "base", ".4"}} {
		s.ip = fmt.Sprintf("198.18.%d%s", subnet, s.ip)
		if _, err := c.CoreV1().Services(prefix+s.ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: s.name},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		name, port := "http", int32(8080)
		if _, err := c.DiscoveryV1().EndpointSlices(prefix+s.ns).Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: s.name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: s.name}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{s.ip}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return cl
}

// serve runs a catalog on a socket in a temp folder until the test ends.
func serve(t *testing.T, opts catalog.Options) string {
	t.Helper()
	c, err := catalog.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sock := filepath.Join(t.TempDir(), "discovery.sock")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.Run(ctx) }()
	go func() {
		defer wg.Done()
		if err := c.Serve(ctx, sock); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	for deadline := time.Now().Add(20 * time.Second); !c.Synced(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("catalog not synced in 20s")
		}
	}
	return sock
}

// stream opens /v1/watch on sock; lines yields its raw lines.
func stream(t *testing.T, sock string) (status int, lines <-chan string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://node/v1/watch", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 64)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return resp.StatusCode, ch
}

func next(t *testing.T, lines <-chan string) (string, catalog.Message) {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("stream ended")
		}
		var m catalog.Message
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		return l, m
	case <-time.After(10 * time.Second):
		t.Fatal("no line in 10s")
	}
	return "", catalog.Message{}
}
