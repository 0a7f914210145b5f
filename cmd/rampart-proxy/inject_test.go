package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
)

// TestInjectedEnv starts the real binary with exactly the environment the
// injector gives the rampart-proxy container (no args from the injector; the
// test adds only loopback listener addresses, a built-in CA, which stands in
// for the SPIRE agent socket the pod would mount, and the socket of a
// rampart-node catalog watching a real API server, at a temporary path instead
// of the hostPath the injector mounts) and checks it becomes ready, from a
// bundle path and from a bundle service, with node discovery.
func TestInjectedEnv(t *testing.T) {
	bin := buildProxy(t)
	ca := testCA(t)
	kenv := kubetest.Start(t)
	createNamespace(t, kenv.Client, "empire")
	pod, err := kenv.Client.CoreV1().Pods("empire").Create(t.Context(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "deathstar-1"},
		Spec: corev1.PodSpec{ServiceAccountName: "deathstar", NodeName: "node-a",
			Containers: []corev1.Container{{Name: "deathstar", Image: "deathstar"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "discovery.sock")
	startCatalog(t, kenv, sock, string(pod.UID))
	for _, tt := range []struct {
		name   string
		cfg    injector.Config
		absent bool // the bundle ConfigMap is created only after the pod starts
	}{
		{"configmap bundle", injector.Config{}, false},
		{"configmap created later", injector.Config{}, true},
		{"bundle service", injector.Config{Bundle: injector.BundleConfig{URL: "http://bundles.rampart-system/starwars.tar.gz"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := injectedEnv(t, tt.cfg)
			if env["RAMPART_DISCOVERY"] != "node" || env["RAMPART_DISCOVERY_SOCKET"] != injector.NodeSocket {
				t.Fatalf("RAMPART_DISCOVERY %q socket %q, want node at %s", env["RAMPART_DISCOVERY"],
					env["RAMPART_DISCOVERY_SOCKET"], injector.NodeSocket)
			}
			env["RAMPART_DISCOVERY_SOCKET"] = sock
			var open func() // makes the bundle available, when it is not at start
			switch {
			case tt.cfg.Bundle.URL != "":
				if env["RAMPART_BUNDLE"] != tt.cfg.Bundle.URL {
					t.Fatalf("RAMPART_BUNDLE %q, want the URL", env["RAMPART_BUNDLE"])
				}
				var gate atomic.Bool
				env["RAMPART_BUNDLE"] = bundleServer(t, &gate)
				open = func() { gate.Store(true) }
			case !strings.HasPrefix(env["RAMPART_BUNDLE"], "/etc/rampart/bundle/"):
				t.Fatalf("RAMPART_BUNDLE %q, want the ConfigMap mount", env["RAMPART_BUNDLE"])
			case tt.absent:
				file := filepath.Join(t.TempDir(), filepath.Base(env["RAMPART_BUNDLE"]))
				env["RAMPART_BUNDLE"], env["RAMPART_BUNDLE_RELOAD"] = file, "100ms"
				open = func() {
					if err := os.WriteFile(file, starwarsTarball(t), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			default:
				env["RAMPART_BUNDLE"] = "../../policies/starwars"
			}
			admin := freeAddr(t)
			startProxyEnv(t, bin, environ(env), "--ca-dir", ca, "--bundle-poll", "100ms",
				"--listen-outbound", freeAddr(t), "--listen-plaintext", freeAddr(t),
				"--listen-hbone", freeAddr(t), "--listen-admin", admin)
			if open != nil { // fail closed before the first bundle: up but not ready
				if code := waitStatus(t, admin, func(c int) bool { return c != 0 }); code != http.StatusServiceUnavailable {
					t.Errorf("before the first bundle: ready %d, want 503", code)
				}
				open()
			}
			if code := waitStatus(t, admin, func(c int) bool { return c == 200 }); code != 200 {
				t.Fatalf("/healthz/ready %d, want 200", code)
			}
			var cfg bytes.Buffer
			if err := json.Compact(&cfg, []byte(strings.TrimPrefix(fetchBody(t, "http://"+admin+"/debug/config"), "200 "))); err != nil {
				t.Fatalf("/debug/config: %v", err)
			}
			for _, want := range []string{`"serviceAccount":"deathstar"`, `"namespace":"empire"`, `"source":"node"`,
				`"podIPs":["127.0.0.1"]`, `"excludeInboundPorts":[9090]`, `"excludeOutboundCIDRs":["198.19.0.0/16"]`,
				`"mode":"STRICT"`, `"slashes":"reject"`} {
				if !strings.Contains(cfg.String(), want) {
					t.Errorf("/debug/config lacks %s:\n%s", want, cfg.String())
				}
			}
		})
	}
}

// TestInjectedEnvBad: a bad value in the injected environment stops the proxy at
// start with a message naming it (testdata/bad-env.txt), instead of running
// half-configured.
func TestInjectedEnvBad(t *testing.T) {
	bin := buildProxy(t)
	ca := testCA(t)
	f, err := os.Open("testdata/bad-env.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	base := injectedEnv(t, injector.Config{})
	base["RAMPART_BUNDLE"] = "../../policies/starwars"
	base["RAMPART_DISCOVERY"] = "file" // no agent here; TestInjectedEnv covers node
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kv, want, _ := strings.Cut(line, " | ")
		t.Run(kv, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--ca-dir", ca, "--listen-outbound", freeAddr(t),
				"--listen-plaintext", freeAddr(t), "--listen-hbone", freeAddr(t), "--listen-admin", freeAddr(t))
			cmd.Env = environ(env)
			out, err := cmd.CombinedOutput()
			if err == nil || ctx.Err() != nil || !strings.Contains(string(out), want) {
				t.Errorf("err %v (ctx %v), output:\n%s\nwant it to fail at start saying %q", err, ctx.Err(), out, want)
			}
		})
	}
}

// injectedEnv runs the real injector on a sample pod and returns the proxy
// container's environment with the downward-API fields resolved as kubelet
// would (the pod IP is loopback, the only address tests may use).
func injectedEnv(t *testing.T, cfg injector.Config) map[string]string {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "deathstar-1", Namespace: "empire", Annotations: map[string]string{
			injector.AnnotationExcludeInPorts: "9090", injector.AnnotationExcludeOutCIDR: "198.19.0.0/16"}},
		Spec: corev1.PodSpec{ServiceAccountName: "deathstar", Containers: []corev1.Container{{
			Name: "deathstar", Image: "docker.io/cilium/starwars",
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromInt32(80)}}},
		}}},
	}
	res, err := injector.Mutate(pod, cfg)
	if err != nil || res.Skipped != "" {
		t.Fatalf("mutate: %v %s", err, res.Skipped)
	}
	fields := map[string]string{"metadata.name": pod.Name, "metadata.namespace": pod.Namespace,
		"status.podIP": "127.0.0.1", "spec.serviceAccountName": pod.Spec.ServiceAccountName}
	for _, c := range res.Pod.Spec.InitContainers {
		if c.Name != injector.ProxyContainerName {
			continue
		}
		if len(c.Command)+len(c.Args) > 0 {
			t.Fatalf("the injector now passes command %q args %q; this test assumes env only", c.Command, c.Args)
		}
		env := map[string]string{}
		for _, e := range c.Env {
			v := e.Value
			if e.ValueFrom != nil {
				ref := e.ValueFrom.FieldRef
				var ok bool
				if ref != nil {
					v, ok = fields[ref.FieldPath]
				}
				if rf := e.ValueFrom.ResourceFieldRef; rf != nil {
					v, ok = resourceField(c, rf)
				}
				if !ok {
					t.Fatalf("env %s: unresolvable source %+v", e.Name, e.ValueFrom)
				}
			}
			env[e.Name] = v
		}
		return env
	}
	t.Fatal("no rampart-proxy container injected")
	return nil
}

// resourceField resolves a resourceFieldRef to c's own limits as kubelet does
// (only limits.memory: the one the injector uses).
func resourceField(c corev1.Container, rf *corev1.ResourceFieldSelector) (string, bool) {
	q, ok := c.Resources.Limits[corev1.ResourceMemory]
	if rf.Resource != "limits.memory" || rf.ContainerName != c.Name || !ok {
		return "", false
	}
	div := rf.Divisor.Value()
	if div == 0 {
		div = 1
	}
	return strconv.FormatInt((q.Value()+div-1)/div, 10), true
}

func environ(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func testCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	if _, err := identity.InitCA(dir, spiffeid.RequireTrustDomainFromString("cluster.local"), 0); err != nil {
		t.Fatal(err)
	}
	return dir
}

// bundleServer serves the Star Wars bundle over OPA's bundle protocol, answering
// 503 until open is set.
func bundleServer(t *testing.T, open *atomic.Bool) string {
	t.Helper()
	tarball := starwarsTarball(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !open.Load():
			http.Error(w, "not yet", http.StatusServiceUnavailable)
		case r.Header.Get("If-None-Match") == `"v1"`:
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("ETag", `"v1"`)
			w.Write(tarball)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/bundles/starwars.tar.gz"
}

func starwarsTarball(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := rego.Build(context.Background(), "../../policies/starwars", &b, rego.BuildOptions{Revision: "v1"}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// waitStatus polls /healthz/ready until done(status) or 10s pass.
func waitStatus(t *testing.T, admin string, done func(int) bool) int {
	t.Helper()
	code := 0
	// 30 s: on a loaded 2-core machine the proxy's start (CA, bundle) took over 10.
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if code = fetchStatus(admin); done(code) {
			break
		}
	}
	return code
}
