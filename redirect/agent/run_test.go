package agent_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rampart-mesh/rampart/redirect/agent"
	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestRunServesProbes runs rampart-node's Run as the DaemonSet does (kubeconfig to
// a real kube-apiserver, cgroup2 found in mountinfo): /healthz/live answers, and
// /healthz/ready and /metrics once the pod cache has synced.
func TestRunServesProbes(t *testing.T) {
	podtest.RequireRoot(t)
	cfg, _ := startAPIServer(t)
	env := podtest.New(t, "agm")
	addr := freeAddr(t)
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	sock := filepath.Join(t.TempDir(), "node", "discovery.sock")
	go func() {
		done <- agent.Run(ctx, agent.RunOptions{Kubeconfig: writeKubeconfig(t, cfg), Node: "node-run",
			PinRoot: newPinRoot(t, env), MetricsAddr: addr, Logger: testLogger(t), DiscoverySocket: sock})
	}()
	base := "http://" + addr
	support.EventuallyWithin(t, 30*time.Second, "live", func() bool { return get(base+"/healthz/live") == 200 })
	support.EventuallyWithin(t, 30*time.Second, "ready", func() bool { return get(base+"/healthz/ready") == 200 })
	// The discovery socket answers, and refuses this test: it runs in no pod.
	unix := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	support.EventuallyWithin(t, 30*time.Second, "discovery socket refuses a process in no pod", func() bool {
		resp, err := unix.Get("http://node/v1/watch")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusForbidden
	})
	body := getBody(t, base+"/metrics")
	for _, m := range []string{"rampart_node_pods_attached 0", "rampart_node_attach_failures_total 0",
		"rampart_node_discovery_subscribers 0"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if code := get(base + "/healthz/live"); code != 0 {
		t.Errorf("metrics server still answers (%d) after Run returned", code)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// get returns the status code, 0 when the server does not answer.
func get(url string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
