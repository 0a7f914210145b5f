package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/test/cluster"
)

// Label selectors of the example's pods and of the deathstar replicas (the
// measurement pods carry app=deathstar too, for the policy, but not this class).
const (
	starwarsPods  = "app.kubernetes.io/part-of=starwars"
	deathstarPods = "class=deathstar,app.kubernetes.io/part-of=starwars"
)

// installed: the harness applied `rampart install` with kubectl; the injector and
// rampart-node are Ready, and the namespace is labelled as the README says.
func (s *scenario) installed(t *testing.T) {
	ns := cluster.RampartNamespace
	ready := s.kubectl(t, "-n", ns, "get", "deployment", injector.InjectorName, "-o", "jsonpath={.status.readyReplicas}/{.spec.replicas}")
	if r, w, _ := strings.Cut(ready, "/"); r != w || r == "" || r == "0" {
		t.Errorf("injector ready replicas %s", ready)
	}
	ready = s.kubectl(t, "-n", ns, "get", "daemonset", injector.NodeName, "-o", "jsonpath={.status.numberReady}/{.status.desiredNumberScheduled}")
	if ready != "1/1" {
		t.Errorf("rampart-node ready %s, want 1/1", ready)
	}
	out := s.sh(t, "kubectl label namespace default rampart.io/injection=enabled")
	if !strings.Contains(out, "namespace/default labeled") {
		t.Errorf("label: %s", out)
	}
}

// applyExample applies `rampart example starwars` in ns (created and labelled
// first unless it is default) and waits for every pod to be Ready.
func (s *scenario) applyExample(t *testing.T, ns string) {
	if ns != nsDefault {
		s.sh(t, fmt.Sprintf("kubectl create namespace %s && kubectl label namespace %s rampart.io/injection=enabled", ns, ns))
	}
	out := s.sh(t, fmt.Sprintf("./bin/rampart example starwars --registry %s --tag %s | kubectl apply -n %s -f -", s.c.Registry, s.c.Tag, ns))
	for _, w := range []string{"deployment.apps/deathstar created", "pod/tiefighter created", "pod/xwing created", "configmap/rampart-policy created"} {
		if !strings.Contains(out, w) {
			t.Errorf("kubectl apply printed no %q:\n%s", w, out)
		}
	}
	start := time.Now()
	s.kubectl(t, "-n", ns, "rollout", "status", "deployment/deathstar", "--timeout=4m")
	s.waitReady(t, ns, starwarsPods, 3*time.Minute)
	t.Logf("%s: every starwars pod Ready %.1fs after kubectl apply", ns, time.Since(start).Seconds())
}

// injectedPods: each pod carries the proxy as a native sidecar (an init container
// with restartPolicy Always), the deathstar's readiness probe now asks the
// proxy's :15020, and the proxy started before the app.
func (s *scenario) injectedPods(t *testing.T) {
	pods := s.pods(t, nsDefault, starwarsPods)
	if len(pods) != 4 {
		t.Fatalf("%d starwars pods, want 4 (2 deathstar, tiefighter, xwing)", len(pods))
	}
	for _, p := range pods {
		checkSidecar(t, &p)
		app := p.Spec.Containers[0]
		if p.Labels["app"] == "deathstar" {
			rp := app.ReadinessProbe
			if rp == nil || rp.HTTPGet == nil || rp.HTTPGet.Port.IntValue() != injector.AdminPort ||
				rp.HTTPGet.Path != "/app-health/deathstar/readyz" {
				t.Errorf("%s: readiness probe %+v, want GET :%d/app-health/deathstar/readyz", p.Name, rp, injector.AdminPort)
			}
		}
		proxyFirst, appFirst := s.firstLogTime(t, p.Name, injector.ProxyContainerName), s.firstLogTime(t, p.Name, app.Name)
		if p.Labels["app"] == "deathstar" && !proxyFirst.Before(appFirst) {
			t.Errorf("%s: proxy's first log line at %v, app's at %v: the app started first", p.Name, proxyFirst, appFirst)
		}
		proxy, _ := initStatus(&p, injector.ProxyContainerName)
		appSt := p.Status.ContainerStatuses[0]
		if proxy.State.Running == nil || appSt.State.Running == nil ||
			proxy.State.Running.StartedAt.After(appSt.State.Running.StartedAt.Time) {
			t.Errorf("%s: proxy %+v, app %+v: want both running, the proxy started first", p.Name, proxy.State, appSt.State)
		}
	}
}

func checkSidecar(t *testing.T, p *corev1.Pod) {
	t.Helper()
	if !isReady(p) {
		t.Errorf("%s not Ready", p.Name)
	}
	if len(p.Spec.InitContainers) == 0 || p.Spec.InitContainers[0].Name != injector.ProxyContainerName {
		t.Fatalf("%s: first init container is not %s: %v", p.Name, injector.ProxyContainerName, p.Spec.InitContainers)
	}
	ic := p.Spec.InitContainers[0]
	if ic.RestartPolicy == nil || *ic.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("%s: the proxy is not a native sidecar (restartPolicy %v)", p.Name, ic.RestartPolicy)
	}
	if st, ok := initStatus(p, injector.ProxyContainerName); !ok || st.Started == nil || !*st.Started || !st.Ready {
		t.Errorf("%s: proxy status %+v", p.Name, st)
	}
}

// firstLogTime is the CRI timestamp (nanoseconds) of a container's first log line.
func (s *scenario) firstLogTime(t *testing.T, pod, c string) time.Time {
	t.Helper()
	out := s.kubectl(t, "-n", nsDefault, "logs", pod, "-c", c, "--timestamps")
	first, _, _ := strings.Cut(out, "\n")
	ts, _, _ := strings.Cut(first, " ")
	when, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{} // a container that logged nothing (sleep)
	}
	return when
}

// guide runs the Cilium guide's exact commands in ns.
func (s *scenario) guide(t *testing.T, ns string) {
	svc := "deathstar." + ns + ".svc.cluster.local"
	for _, c := range []struct {
		pod, method, path, want, code string
	}{
		{"tiefighter", "POST", "/v1/request-landing", landed, "200"},
		{"tiefighter", "PUT", "/v1/exhaust-port", denied, "403"},
		{"xwing", "POST", "/v1/request-landing", denied, "403"},
	} {
		out, code := s.curl(ns, c.pod, "-s", "-X"+c.method, svc+c.path)
		if code != 0 || strings.TrimSpace(out) != c.want {
			t.Errorf("kubectl exec %s -- curl -s -X%s %s%s: exit %d, %q; want %q", c.pod, c.method, svc, c.path, code, out, c.want)
		}
		out, _ = s.curl(ns, c.pod, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X"+c.method, svc+c.path)
		if out != c.code {
			t.Errorf("%s %s %s: status %q, want %s", c.pod, c.method, c.path, out, c.code)
		}
	}
}

// mtlsEvidence: the tiefighter's proxy made mTLS handshakes to the deathstar's
// proxies (so its connects were captured and tunnelled), the deathstar proxies
// decided, and every injected pod is pinned by rampart-node.
func (s *scenario) mtlsEvidence(t *testing.T) {
	m := s.metrics(t, nsDefault, "tiefighter", "")
	if n := m.sum("rampart_outbound_tls_handshakes_total", `result="ok"`); n < 1 {
		t.Errorf("tiefighter proxy: %v ok mTLS handshakes", n)
	}
	if n := m.sum("rampart_connections_total", `direction="outbound"`, `kind="hbone"`); n < 3 {
		t.Errorf("tiefighter proxy: %v outbound HBONE connections, want >= 3", n)
	}
	var allow, deny float64
	for _, p := range s.pods(t, nsDefault, deathstarPods) {
		m := s.metrics(t, nsDefault, p.Name, "deathstar")
		allow += m.sum("rampart_policy_decisions_total", `result="allow"`)
		deny += m.sum("rampart_policy_decisions_total", `result="deny"`)
	}
	if allow < 2 || deny < 4 {
		t.Errorf("deathstar proxies decided allow=%v deny=%v, want >= 2 and >= 4", allow, deny)
	}
	for _, p := range s.pods(t, nsDefault, starwarsPods) {
		if !pinned(string(p.UID)) {
			t.Errorf("%s (%s) has no pins under %s", p.Name, p.UID, pinRoot)
		}
	}
}

// secondNamespace: the same example, unchanged, in another opted-in namespace; and
// a tiefighter of one namespace lands on the deathstar of the other.
func (s *scenario) secondNamespace(t *testing.T) {
	s.applyExample(t, nsEmpire)
	s.guide(t, nsEmpire)
	out, code := s.curl(nsDefault, "tiefighter", "-s", "-XPOST", "deathstar."+nsEmpire+".svc.cluster.local/v1/request-landing")
	if code != 0 || strings.TrimSpace(out) != landed {
		t.Errorf("default/tiefighter -> empire/deathstar: exit %d %q", code, out)
	}
}
