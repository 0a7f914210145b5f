package main

// Rampart's injection against a real kube-apiserver + etcd: the webhook is registered
// from the MutatingWebhookConfiguration that `rampart install` prints, with one
// substitution: clientConfig.service (the in-cluster Service, unreachable here) becomes
// a url to the injector serving on 127.0.0.1, and caBundle the CA of its test
// certificate. Everything else (selectors, failurePolicy, reinvocation) is as rendered.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampart-mesh/rampart/injector"
)

// kubeRun runs the rampart command tree with stdin and returns stdout.
func kubeRun(t *testing.T, stdin io.Reader, args ...string) []byte {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetIn(stdin)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("rampart %v: %v\n%s", args, err, errOut.Bytes())
	}
	return out.Bytes()
}

// decodeObjects splits a YAML stream into objects.
func decodeObjects(t *testing.T, y []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(y), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("decode manifests: %v", err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

func TestKubeInstallAndInject(t *testing.T) {
	c, err := client.New(startKube(t), client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	objs := decodeObjects(t, kubeRun(t, nil, "install"))
	t.Run("install manifests pass server-side dry-run", func(t *testing.T) { dryRunAll(t, ctx, c, objs) })
	t.Run("dry-run catches an invalid manifest", func(t *testing.T) {
		// Keeps the dry-run honest: a webhook timeout over 30 s is invalid on the server.
		bad := decodeObjects(t, kubeRun(t, nil, "install", "--webhook-timeout", "45"))
		mwc := bad[len(bad)-1]
		if err := c.Create(ctx, mwc, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "timeoutSeconds") {
			t.Fatalf("dry-run of %s with timeoutSeconds 45: %v, want refused", mwc.GetKind(), err)
		}
	})

	stop := serveInjector(t, c, objs[len(objs)-1])
	for _, ns := range []struct {
		name   string
		labels map[string]string
	}{{"empire", map[string]string{injector.NamespaceLabel: injector.NamespaceLabelEnabled}}, {"alliance", nil}} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.name, Labels: ns.labels}}); err != nil {
			t.Fatal(err)
		}
	}
	waitForWebhook(t, ctx, c)

	t.Run("pods", func(t *testing.T) { checkPods(t, ctx, c) })
	t.Run("rampart inject output is accepted", func(t *testing.T) { checkInjectedWorkloads(t, ctx, c) })
	t.Run("rampart example passes server-side dry-run with injection", func(t *testing.T) { checkExampleDryRun(t, ctx, c) })
	t.Run("injector down: pods in opted-in namespaces are refused", func(t *testing.T) {
		stop()
		err := c.Create(ctx, testPod("empire", "while-down", nil, nil))
		if err == nil || !strings.Contains(err.Error(), injector.WebhookName) {
			t.Fatalf("create with the injector down: %v; want refused by %s (failurePolicy Fail)", err, injector.WebhookName)
		}
		if err := c.Create(ctx, testPod("alliance", "while-down", nil, nil)); err != nil {
			t.Fatalf("unlabelled namespace must not depend on the injector: %v", err)
		}
	})
}

// dryRunAll creates the install namespace (namespaced objects need it to exist),
// then dry-runs every manifest on the server: schema, defaulting, validation and
// admission all run, nothing is stored.
func dryRunAll(t *testing.T, ctx context.Context, c client.Client, objs []*unstructured.Unstructured) {
	if len(objs) < 10 {
		t.Fatalf("rampart install printed only %d objects", len(objs))
	}
	if err := c.Create(ctx, objs[0].DeepCopy()); err != nil || objs[0].GetKind() != "Namespace" {
		t.Fatalf("create %s %s: %v", objs[0].GetKind(), objs[0].GetName(), err)
	}
	for _, o := range objs {
		if err := c.Create(ctx, o.DeepCopy(), client.DryRunAll); err != nil && !(o.GetKind() == "Namespace") {
			t.Errorf("dry-run %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}

// serveInjector starts the injector on 127.0.0.1 and registers the rendered webhook
// configuration pointing at it. The returned func stops the injector.
func serveInjector(t *testing.T, c client.Client, mwc *unstructured.Unstructured) (stop func()) {
	t.Helper()
	if mwc.GetKind() != "MutatingWebhookConfiguration" {
		t.Fatalf("last manifest is %s, want the MutatingWebhookConfiguration", mwc.GetKind())
	}
	tlsb, err := injector.GenerateTLS([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if os.WriteFile(cert, tlsb.Cert, 0o600) != nil || os.WriteFile(key, tlsb.Key, 0o600) != nil {
		t.Fatal("write certificate")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- injector.Serve(ctx, ln, injector.ServerOptions{CertFile: cert, KeyFile: key}) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("injector: %v", err)
			}
		}
	}
	t.Cleanup(stop)

	hooks, _, _ := unstructured.NestedSlice(mwc.Object, "webhooks")
	hook := hooks[0].(map[string]any)
	hook["clientConfig"] = map[string]any{ // the one substitution, see the file comment
		"url":      "https://" + ln.Addr().String() + injector.WebhookPath,
		"caBundle": base64.StdEncoding.EncodeToString(tlsb.CACert),
	}
	if err := unstructured.SetNestedSlice(mwc.Object, hooks, "webhooks"); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(t.Context(), mwc); err != nil {
		t.Fatalf("register webhook: %v", err)
	}
	return stop
}

// waitForWebhook dry-runs a pod until the API server's webhook cache has picked up
// the new configuration and the pod comes back injected.
func waitForWebhook(t *testing.T, ctx context.Context, c client.Client) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		pod := testPod("empire", "probe", nil, nil)
		err := c.Create(ctx, pod, client.DryRunAll)
		if err == nil && proxyCount(pod) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook never injected a dry-run pod (last error %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func testPod(ns, name string, labels, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: annotations},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "example.com/app:1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/ready", Port: intstr.FromString("http")}}},
		}}},
	}
}

func proxyCount(pod *corev1.Pod) int {
	n := 0
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if c.Name == injector.ProxyContainerName {
				n++
			}
		}
	}
	return n
}

// checkPods creates pods through the API server and reads back what etcd stored.
func checkPods(t *testing.T, ctx context.Context, c client.Client) {
	optOut := map[string]string{injector.InjectAnnotation: "false"}
	hostNet := testPod("empire", "host-network", nil, nil)
	hostNet.Spec.HostNetwork = true
	for _, tc := range []struct {
		pod    *corev1.Pod
		inject bool
	}{
		{testPod("empire", "deathstar", map[string]string{"org": "empire"}, nil), true},
		{testPod("alliance", "xwing", map[string]string{"org": "alliance"}, nil), false},
		{testPod("empire", "opt-out-annotation", nil, optOut), false},
		{testPod("empire", "opt-out-label", optOut, nil), false},
		{hostNet, false},
	} {
		t.Run(tc.pod.Namespace+"/"+tc.pod.Name, func(t *testing.T) {
			if err := c.Create(ctx, tc.pod); err != nil {
				t.Fatalf("create: %v", err)
			}
			var got corev1.Pod
			if err := c.Get(ctx, client.ObjectKeyFromObject(tc.pod), &got); err != nil {
				t.Fatal(err)
			}
			if n := proxyCount(&got); n != map[bool]int{true: 1, false: 0}[tc.inject] {
				t.Fatalf("stored pod has %d proxies, want injected=%v", n, tc.inject)
			}
			if tc.inject {
				checkStoredSidecar(t, &got)
			}
		})
	}
	t.Run("invalid annotation is refused", func(t *testing.T) {
		bad := testPod("empire", "bad", nil, map[string]string{injector.AnnotationCPURequest: "lots"})
		err := c.Create(ctx, bad)
		if err == nil || !strings.Contains(err.Error(), injector.AnnotationCPURequest) {
			t.Fatalf("create: %v; want a refusal naming %s", err, injector.AnnotationCPURequest)
		}
	})
}

func checkStoredSidecar(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	p := pod.Spec.InitContainers[0]
	if p.Name != injector.ProxyContainerName || p.RestartPolicy == nil || *p.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("first init container %s is not the native sidecar", p.Name)
	}
	if sc := p.SecurityContext; sc == nil || *sc.RunAsUser != injector.ProxyUID || !*sc.ReadOnlyRootFilesystem {
		t.Error("proxy security context not stored")
	}
	if c := pod.Spec.InitContainers[1]; c.Name != injector.CheckContainerName || *c.SecurityContext.RunAsUser != injector.CheckUID {
		t.Errorf("second init container %s is not the capture check", c.Name)
	}
	if rp := pod.Spec.Containers[0].ReadinessProbe.HTTPGet; rp.Port.IntValue() != injector.AdminPort || rp.Path != "/app-health/app/readyz" {
		t.Errorf("app readiness probe not rewritten: %+v", rp)
	}
	if pod.Annotations[injector.StatusAnnotation] == "" {
		t.Error("no status annotation stored")
	}
}

// checkInjectedWorkloads stores what `rampart inject` prints for the deathstar
// Deployment and Service, and a pod made from the injected template in the opted-in
// namespace, where the webhook must see it as already injected.
func checkInjectedWorkloads(t *testing.T, ctx context.Context, c client.Client) {
	const file = "testdata/inject/deathstar.yaml"
	out := kubeRun(t, nil, "inject", "-f", file)
	in, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if stdin := kubeRun(t, bytes.NewReader(in), "inject", "-f", "-"); !bytes.Equal(stdin, out) {
		t.Error("inject -f - differs from inject -f FILE")
	}
	objs := decodeObjects(t, out)
	if len(objs) != 2 {
		t.Fatalf("inject printed %d objects, want 2", len(objs))
	}
	for _, o := range objs {
		o.SetNamespace("alliance")
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("create injected %s: %v", o.GetKind(), err)
		}
	}
	var dep appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: "alliance", Name: "deathstar"}, &dep); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: dep.Spec.Template.ObjectMeta, Spec: dep.Spec.Template.Spec}
	pod.Namespace, pod.Name = "empire", "deathstar-from-template"
	if proxyCount(pod) != 1 {
		t.Fatalf("stored Deployment template has %d proxies, want 1", proxyCount(pod))
	}
	if err := c.Create(ctx, pod); err != nil {
		t.Fatalf("create pod from injected template: %v", err)
	}
	if proxyCount(pod) != 1 {
		t.Errorf("webhook injected an already injected pod again: %d proxies", proxyCount(pod))
	}
}
