package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/sidecar/admin"
	"github.com/rampart-mesh/rampart/test/support"
	"github.com/rampart-mesh/rampart/test/support/kubeapi"
)

// TestObserveCluster runs `rampart observe` against a real kube-apiserver whose
// pods are real rampart-proxy processes in network namespaces: the apiserver's
// pod proxy reaches their admin ports at 198.18.44.0/24 addresses over veth
// pairs from the host (it refuses to proxy to loopback addresses). It checks
// that -n and -A read every injected pod's ring through pods/proxy, merged in
// time order; that a proxy without a ring is named; that a user without
// pods/proxy gets an error naming it; and that --follow streams new decisions
// and picks up and drops pods as they come and go.
func TestObserveCluster(t *testing.T) {
	support.RequireRoot(t, "needs root (network namespaces)")
	server := kubeapi.Start(t, &envtest.Environment{BinaryAssetsDirectory: kubeAssets(t)})
	env, cfg := server.Env, server.Config
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	c := kubernetes.NewForConfigOrDie(cfg)
	h := newObsHarness(t, c)
	a := h.pod("obs", "a", 1, true, true)
	b := h.pod("obs2", "b", 2, true, true)
	h.pod("obs", "noring", 3, true, false)
	h.pod("obs", "plain", 4, false, true) // not injected: never asked
	a.request(t, "POST", "/v1/request-landing")
	b.request(t, "GET", "/v1/b-first")
	a.request(t, "PUT", "/v1/exhaust-port")

	t.Run("namespace", func(t *testing.T) {
		out, stderr := h.observe(t, "--kubeconfig", kubeconfig, "-n", "obs", "-o", "json")
		rows := decodeRows(t, out)
		if pods(rows) != "obs/a,obs/a" || rows[0].Path != "/v1/request-landing" || rows[1].Path != "/v1/exhaust-port" {
			t.Errorf("rows: %+v", rows)
		}
		if !strings.Contains(stderr, "obs/noring: "+admin.NoRingMessage) {
			t.Errorf("stderr does not name the proxy without a ring: %q", stderr)
		}
	})
	t.Run("all namespaces, time-ordered", func(t *testing.T) {
		out, _ := h.observe(t, "--kubeconfig", kubeconfig, "-A", "-o", "json")
		rows := decodeRows(t, out)
		if pods(rows) != "obs/a,obs2/b,obs/a" || !slices.IsSortedFunc(rows, func(x, y observed) int { return x.Time.Compare(y.Time) }) {
			t.Errorf("rows not every pod's in time order: %+v", rows)
		}
		table, _ := h.observe(t, "--kubeconfig", kubeconfig, "-A", "--path", "/v1/b")
		if !strings.Contains(table, "POD") || !strings.Contains(table, "obs2/b") || strings.Count(table, "\n") != 2 {
			t.Errorf("table with --path:\n%s", table)
		}
	})
	t.Run("forbidden names the permission", func(t *testing.T) {
		viewer := h.viewer(t, env, "obs")
		_, err := h.run(context.Background(), "observe", "--kubeconfig", viewer, "-n", "obs")
		if err == nil || !strings.Contains(err.Error(), "needs get on pods/proxy") {
			t.Errorf("err = %v, want one naming get on pods/proxy", err)
		}
		if testing.Verbose() {
			t.Log(err)
		}
	})
	t.Run("follow", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := h.run(ctx, "observe", "--kubeconfig", kubeconfig, "-A", "--follow", "-o", "json")
			done <- err
		}()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("observe --follow: %v", err)
			}
		}()
		h.waitOut(t, "the ring's decisions", `"/v1/b-first"`)
		a.request(t, "GET", "/v1/followed")
		h.waitOut(t, "a new decision", `"/v1/followed"`)
		e := h.pod("obs", "e", 5, true, true)
		h.waitErr(t, "the new pod picked up", "following obs/e")
		e.request(t, "GET", "/v1/from-new-pod")
		h.waitOut(t, "the new pod's decision", `"/v1/from-new-pod"`)
		if err := c.CoreV1().Pods("obs").Delete(context.Background(), "e", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
			t.Fatal(err)
		}
		h.waitErr(t, "the deleted pod dropped", "stopped following obs/e")
	})
}

// obsHarness holds the namespaces, proxies and output of TestObserveCluster.
type obsHarness struct {
	t        *testing.T
	c        *kubernetes.Clientset
	proxy    string // rampart-proxy binary
	caDir    string
	tag      string
	mu       sync.Mutex
	out, err bytes.Buffer
}

func newObsHarness(t *testing.T, c *kubernetes.Clientset) *obsHarness {
	dir := t.TempDir()
	support.GoBuild(t, "", dir+"/", "../rampart-proxy")
	h := &obsHarness{t: t, c: c, proxy: filepath.Join(dir, "rampart-proxy"), caDir: filepath.Join(dir, "ca"),
		tag: fmt.Sprintf("rpo%d", os.Getpid()%10000)}
	if _, err := h.run(context.Background(), "ca", "init", "--dir", h.caDir); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"obs", "obs2"} {
		if _, err := c.CoreV1().Namespaces().Create(context.Background(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// obsPod is a pod's proxy in its own network namespace.
type obsPod struct{ ip string }

// pod creates network namespace n of the harness, wired to the host by a veth
// pair (host 198.18.44.4n+1/30, pod 4n+2), runs rampart-proxy in it (with a
// decision ring when ring), and creates the Pod object, Running at that IP.
func (h *obsHarness) pod(ns, name string, n int, injected, ring bool) *obsPod {
	t := h.t
	netns, host := fmt.Sprintf("%s-%s", h.tag, name), fmt.Sprintf("%sh%d", h.tag, n)
	hostIP, podIP := fmt.Sprintf("198.18.44.%d", 4*n+1), fmt.Sprintf("198.18.44.%d", 4*n+2)
	for _, cmd := range [][]string{
		{"netns", "add", netns},
		{"link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", netns},
		{"addr", "add", hostIP + "/30", "dev", host},
		{"link", "set", host, "up"},
		{"-n", netns, "addr", "add", podIP + "/30", "dev", "eth0"},
		{"-n", netns, "link", "set", "eth0", "up"},
		{"-n", netns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", cmd...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(cmd, " "), err, out)
		}
		if cmd[0] == "netns" {
			t.Cleanup(func() { exec.Command("ip", "netns", "del", netns).Run() })
		}
	}
	args := []string{"netns", "exec", netns, h.proxy, "--bundle", "../../policies/starwars", "--ca-dir", h.caDir,
		"--namespace", ns, "--service-account", name, "--mode", "PERMISSIVE", "--upstream", "127.0.0.1:1",
		"--listen-plaintext", ":15006", "--listen-admin", ":15020"}
	if ring {
		args = append(args, "--decision-ring-bytes", "65536")
	}
	var log bytes.Buffer
	proxy := exec.Command("ip", args...)
	proxy.Stdout, proxy.Stderr = &log, &log
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Process.Signal(syscall.SIGTERM); proxy.Wait() })
	support.Eventually(t, "proxy "+name+" ready", func() bool {
		resp, err := http.Get("http://" + podIP + ":15020/healthz/ready")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
	if injected {
		pod.Annotations[injector.StatusAnnotation] = `{"test":true}`
	}
	ctx := context.Background()
	created, err := h.c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: podIP, PodIPs: []corev1.PodIP{{IP: podIP}}}
	if _, err := h.c.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return &obsPod{ip: podIP}
}

// request sends one request to the pod's proxy, making one decision.
func (p *obsPod) request(t *testing.T, method, path string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+p.ip+":15006"+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	time.Sleep(2 * time.Millisecond) // distinct decision times, for the order check
}

// viewer returns a kubeconfig of a user who may list and watch pods in ns but
// not use pods/proxy.
func (h *obsHarness) viewer(t *testing.T, env *envtest.Environment, ns string) string {
	ctx := context.Background()
	u, err := env.AddUser(envtest.User{Name: "viewer"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-viewer", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}}}
	if _, err := h.c.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "viewer", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pod-viewer"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "viewer", APIGroup: "rbac.authorization.k8s.io"}}}
	if _, err := h.c.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "viewer")
	if err := os.WriteFile(file, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// run runs rampart with args until it ends or ctx does, its output added to the
// harness's buffers.
func (h *obsHarness) run(ctx context.Context, args ...string) (string, error) {
	cmd := newRootCmd()
	var out, stderr bytes.Buffer
	cmd.SetOut(lockedWriter{&h.mu, &h.out, &out})
	cmd.SetErr(lockedWriter{&h.mu, &h.err, &stderr})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	return out.String(), err
}

// observe runs `rampart observe` and returns its output and error output.
func (h *obsHarness) observe(t *testing.T, args ...string) (string, string) {
	t.Helper()
	h.mu.Lock()
	h.err.Reset()
	h.mu.Unlock()
	out, err := h.run(context.Background(), append([]string{"observe"}, args...)...)
	if err != nil {
		t.Fatalf("observe %v: %v", args, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return out, h.err.String()
}

func (h *obsHarness) waitOut(t *testing.T, what, s string) {
	t.Helper()
	support.Eventually(t, what, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return strings.Contains(h.out.String(), s) })
}

func (h *obsHarness) waitErr(t *testing.T, what, s string) {
	t.Helper()
	support.Eventually(t, what, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return strings.Contains(h.err.String(), s) })
}

// lockedWriter writes to a shared buffer and a private one under a lock.
type lockedWriter struct {
	mu          *sync.Mutex
	shared, own *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.shared.Write(p)
	return w.own.Write(p)
}

func decodeRows(t *testing.T, out string) []observed {
	t.Helper()
	var rows []observed
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return rows
}

func pods(rows []observed) string {
	var p []string
	for _, r := range rows {
		p = append(p, r.Pod)
	}
	return strings.Join(p, ",")
}
