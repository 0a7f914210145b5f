package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// The node whose pods run the measured proxies (and rampart-node).
const measuredNode = "node-00"

// cluster is the running API server and what was created in it.
type cluster struct {
	env             *envtest.Environment
	client          *kubernetes.Clientset
	apiPID, etcdPID int
	// adminKC reaches the server as the admin (rampart-node's kubeconfig; its
	// own RBAC is tested in test/e2e); proxyKC as a service account bound to
	// the ClusterRole rampart install --proxy-kube-discovery grants.
	adminKC, proxyKC string
	proxies          []podRef // the pods of measuredNode, one proxy each
	probe            podRef   // the pod whose labels change
	objects          int      // pods + services + slices
}

type podRef struct {
	ns, name, uid, sa string
	ip                netip.Addr
	labels            map[string]string
}

// toolsAssets finds kube-apiserver and etcd as test/tools/kube/build.sh leaves
// them: kube-<version>/ under $RAMPART_TOOLS_DIR, or <module>/.cache/bin.
func toolsAssets(root string) (string, error) {
	dir := os.Getenv("RAMPART_TOOLS_DIR")
	if dir == "" {
		dir = filepath.Join(root, ".cache", "bin")
	}
	found, _ := filepath.Glob(filepath.Join(dir, "kube-*", "kube-apiserver"))
	if len(found) == 0 {
		return "", fmt.Errorf("kube-apiserver not built under %s (make tools, or test/tools/kube/build.sh)", dir)
	}
	sort.Strings(found)
	return filepath.Dir(found[len(found)-1]), nil
}

// startCluster runs kube-apiserver and etcd (envtest, as the repository's
// tests do) with a service range wide enough for the services.
func startCluster(assets, dir string) (*cluster, error) {
	ctrllog.SetLogger(logr.Discard()) // envtest logs through it
	// envtest waits 20 s for kube-apiserver by default; a loaded 2-core machine can
	// need more (the Makefile sets KUBEBUILDER_CONTROLPLANE_START_TIMEOUT for tests).
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ControlPlaneStartTimeout: 2 * time.Minute}
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start kube-apiserver from %s: %w", assets, err)
	}
	cl := &cluster{env: env}
	cfg.QPS, cfg.Burst = 2000, 4000
	if cl.client, err = kubernetes.NewForConfig(cfg); err != nil {
		_ = env.Stop()
		return nil, err
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	if cl.apiPID, err = findProcess("kube-apiserver", "--secure-port="+u.Port()); err != nil {
		_ = env.Stop()
		return nil, err
	}
	if etcd := env.ControlPlane.Etcd; etcd != nil && etcd.URL != nil {
		cl.etcdPID, _ = findProcess("etcd", "--advertise-client-urls="+etcd.URL.String())
	}
	cl.adminKC = filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(cl.adminKC, []byte(kubeconfig(cfg)), 0o600); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return cl, nil
}

// stop ends kube-apiserver and etcd. envtest's Stop gives up on a server that
// has not ended its graceful shutdown in time (a loaded machine), leaving it
// running: whatever is left is killed.
func (cl *cluster) stop() {
	_ = cl.env.Stop()
	for pid, name := range map[int]string{cl.apiPID: "kube-apiserver", cl.etcdPID: "etcd"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if pid > 0 && err == nil && strings.Contains(string(b), name) { // still ours, not a reused pid
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func kubeconfig(cfg *rest.Config) string {
	b64 := base64.StdEncoding.EncodeToString
	user := ""
	if len(cfg.CertData) > 0 {
		user += fmt.Sprintf("    client-certificate-data: %s\n    client-key-data: %s\n", b64(cfg.CertData), b64(cfg.KeyData))
	}
	if cfg.BearerToken != "" {
		user += fmt.Sprintf("    token: %s\n", cfg.BearerToken)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: bench
contexts:
- name: bench
  context: {cluster: bench, user: bench}
clusters:
- name: bench
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: bench
  user:
%s`, cfg.Host, b64(cfg.CAData), user)
}

// populate creates the namespaces, pods (IPs through the status subresource,
// as a kubelet would report them), Services and EndpointSlices. Pods are spread
// over pods/proxies nodes; the pods of measuredNode are the proxies'. Node-00's
// pods carry rampart.io/inject=false: rampart-node must not try to capture
// them (their "containers" are this command's processes; capture is not
// measured here).
func (cl *cluster) populate(ctx context.Context, c config, dir string) error {
	nodes := c.pods / c.proxies
	perNS, svcPerNS := c.pods/c.namespaces, c.services/c.namespaces
	type podJob struct {
		idx    int
		ns     string
		j      int
		ip     netip.Addr
		labels map[string]string
	}
	var jobs []podJob
	for n := range c.namespaces {
		ns := fmt.Sprintf("ns-%02d", n)
		if _, err := cl.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
		for j := range perNS {
			i := n*perNS + j
			ip := netip.AddrFrom4([4]byte{10, 244, byte(i / 250), byte(i%250 + 1)})
			jobs = append(jobs, podJob{idx: i, ns: ns, j: j, ip: ip, labels: map[string]string{
				"app": fmt.Sprintf("svc-%03d", j%svcPerNS), "version": "v1", "org": []string{"empire", "alliance"}[j%2]}})
		}
	}
	refs := make([]podRef, len(jobs))
	err := parallel(ctx, len(jobs), 16, func(k int) error {
		jb := jobs[k]
		node := fmt.Sprintf("node-%02d", jb.j%nodes)
		name := fmt.Sprintf("pod-%04d", jb.idx)
		sa := jb.labels["app"]
		p := benchPod(jb.ns, name, node, sa, jb.labels)
		created, err := cl.client.CoreV1().Pods(jb.ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("pod %s/%s: %w", jb.ns, name, err)
		}
		created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: jb.ip.String(),
			PodIPs: []corev1.PodIP{{IP: jb.ip.String()}}, HostIP: "192.0.2.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		if _, err := cl.client.CoreV1().Pods(jb.ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("pod %s/%s status: %w", jb.ns, name, err)
		}
		refs[k] = podRef{ns: jb.ns, name: name, uid: string(created.UID), sa: sa, ip: jb.ip, labels: jb.labels}
		return nil
	})
	if err != nil {
		return err
	}
	for k, jb := range jobs {
		if jb.j%nodes == 0 {
			cl.proxies = append(cl.proxies, refs[k])
		}
	}
	cl.probe = refs[1] // ns-00, node-01: a pod of another node, seen by every proxy
	svcJobs := c.services
	err = parallel(ctx, svcJobs, 16, func(k int) error {
		n, s := k/svcPerNS, k%svcPerNS
		ns, name := fmt.Sprintf("ns-%02d", n), fmt.Sprintf("svc-%03d", s)
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}}
		if _, err := cl.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("service %s/%s: %w", ns, name, err)
		}
		var eps []discoveryv1.Endpoint
		ready := true
		for j := s; j < perNS; j += svcPerNS {
			r := refs[n*perNS+j]
			node := fmt.Sprintf("node-%02d", j%nodes)
			eps = append(eps, discoveryv1.Endpoint{Addresses: []string{r.ip.String()}, NodeName: &node,
				Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: r.name, UID: types.UID(r.uid)}})
		}
		port, proto, pname := int32(8080), corev1.ProtocolTCP, "http"
		sl := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name + "-abcde", Namespace: ns,
			Labels: map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"}},
			AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
			Ports: []discoveryv1.EndpointPort{{Name: &pname, Port: &port, Protocol: &proto}}}
		if _, err := cl.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, sl, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("endpointslice %s/%s: %w", ns, name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cl.objects = c.pods + 2*c.services
	return cl.proxyCredentials(ctx, dir)
}

// benchPod is a pod shaped like an injected one: an app container and the
// rampart-proxy sidecar with the env and ports the injector sets, so that
// objects weigh on the API server and in informers about what real ones do.
func benchPod(ns, name, node, sa string, labels map[string]string) *corev1.Pod {
	anno := map[string]string{"rampart.io/status": "injected"}
	if node == measuredNode {
		anno["rampart.io/inject"] = "false"
	}
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: anno},
		Spec: corev1.PodSpec{NodeName: node, ServiceAccountName: sa, Containers: []corev1.Container{
			{Name: "app", Image: "registry.example/" + labels["app"] + ":1.0",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env:   env("LOG_LEVEL", "info", "LISTEN", ":8080", "UPSTREAM", "http://backend."+ns+".svc:80")},
			{Name: "rampart-proxy", Image: "registry.example/rampart-proxy:bench",
				Ports: []corev1.ContainerPort{{Name: "hbone", ContainerPort: 15008}, {Name: "admin", ContainerPort: 15020}},
				Env: env("RAMPART_DISCOVERY", "node", "RAMPART_CA_ADDR", "https://rampart-injector.rampart-system.svc:15012",
					"RAMPART_BUNDLE", "/var/run/rampart/policy/bundle.tar.gz", "RAMPART_NAMESPACE", ns, "RAMPART_SERVICE_ACCOUNT", sa)},
		}},
	}
}

// proxyCredentials makes the kube arm's proxies a service account bound to
// exactly what --discovery kube needs (get, list, watch on pods, services and
// endpointslices cluster-wide) and a kubeconfig with its token.
func (cl *cluster) proxyCredentials(ctx context.Context, dir string) error {
	const ns, name = "ns-00", "rampart-proxy-bench"
	core, rbac := cl.client.CoreV1(), cl.client.RbacV1()
	if _, err := core.ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("service account: %w", err)
	}
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "services"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
	}
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("cluster role: %w", err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: name}}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("cluster role binding: %w", err)
	}
	secs := int64(6 * 3600)
	tok, err := core.ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	cfg := rest.AnonymousClientConfig(cl.env.Config)
	cfg.BearerToken = tok.Status.Token
	cl.proxyKC = filepath.Join(dir, "proxy.kubeconfig")
	return os.WriteFile(cl.proxyKC, []byte(kubeconfig(cfg)), 0o600)
}

// relabel sets the probe pod's version label (a merge patch, as kubectl label does).
func (cl *cluster) relabel(ctx context.Context, version string) error {
	patch := fmt.Sprintf(`{"metadata":{"labels":{"version":%q}}}`, version)
	_, err := cl.client.CoreV1().Pods(cl.probe.ns).Patch(ctx, cl.probe.name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// apiMetrics is what the API server's /metrics says now.
type apiMetrics struct {
	watches   int     // apiserver_longrunning_requests{verb="WATCH"}, summed
	heapBytes float64 // go_memstats_heap_inuse_bytes
}

func (cl *cluster) metrics(ctx context.Context) (apiMetrics, error) {
	b, err := cl.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return apiMetrics{}, fmt.Errorf("apiserver /metrics: %w", err)
	}
	var m apiMetrics
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch {
		case strings.HasPrefix(name, "apiserver_longrunning_requests{") && strings.Contains(name, `verb="WATCH"`):
			v, _ := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			m.watches += int(v)
			found = true
		case name == "go_memstats_heap_inuse_bytes":
			m.heapBytes, _ = strconv.ParseFloat(strings.Fields(rest)[0], 64)
		}
	}
	if !found {
		return m, fmt.Errorf("apiserver /metrics: no apiserver_longrunning_requests{verb=\"WATCH\"}")
	}
	return m, nil
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, f func(int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= n || ctx.Err() != nil {
					return
				}
				if err := f(k); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// findProcess is the pid of the process named name whose command line holds arg.
func findProcess(name, arg string) (int, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil {
				continue
			}
			args := strings.Split(string(b), "\x00")
			if filepath.Base(args[0]) == name && strings.Contains(string(b), arg) {
				return pid, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no %s process with %s", name, arg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// moduleRoot is the folder of the go.mod this command belongs to.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("find the module root (go env GOMOD): %v", err)
	}
	return filepath.Dir(gomod), nil
}
