package injector_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/rampart-mesh/rampart/injector"
)

// TestMutateGolden runs Mutate over every testdata/mutate/*.yaml pod (with the
// config in <name>.config.yaml when present) and compares the mutated pod, the skip
// reason or the error with <name>.golden.
func TestMutateGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/mutate/*.yaml")
	n := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".config.yaml") {
			continue
		}
		n++
		base := strings.TrimSuffix(in, ".yaml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			pod, cfg := readPod(t, in), readConfig(t, base+".config.yaml")
			before := pod.DeepCopy()
			res, err := injector.Mutate(pod, cfg)
			if !equalPods(pod, before) {
				t.Error("Mutate changed its input")
			}
			golden(t, base+".golden", describe(t, res, err))
			if err == nil && res.Skipped == "" {
				assertInjected(t, res.Pod)
				again, err := injector.Mutate(res.Pod, cfg)
				if err != nil || again.Skipped != injector.SkipInjected {
					t.Errorf("second Mutate = %q, %v; want skipped %q", again.Skipped, err, injector.SkipInjected)
				}
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d cases in testdata/mutate", n)
	}
}

// describe renders one outcome as the golden text.
func describe(t *testing.T, res injector.Result, err error) []byte {
	switch {
	case err != nil:
		return []byte("error: " + err.Error() + "\n")
	case res.Skipped != "":
		return []byte("skipped: " + res.Skipped + "\n")
	}
	m, cerr := runtime.DefaultUnstructuredConverter.ToUnstructured(res.Pod)
	if cerr != nil {
		t.Fatal(cerr)
	}
	delete(m, "status")
	delete(m["metadata"].(map[string]any), "creationTimestamp")
	out, cerr := yaml.Marshal(m)
	if cerr != nil {
		t.Fatal(cerr)
	}
	return out
}

// assertInjected checks the security properties the issue lists, independent of the
// golden file, so an -update cannot silently accept a weaker sidecar.
func assertInjected(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	c := pod.Spec.InitContainers[0]
	sc := c.SecurityContext
	switch {
	case c.Name != injector.ProxyContainerName || c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways:
		t.Errorf("first init container %q is not the native sidecar", c.Name)
	case sc == nil || *sc.RunAsUser != injector.ProxyUID || *sc.RunAsGroup != injector.ProxyGID || !*sc.RunAsNonRoot:
		t.Error("proxy does not run as 1337:1337 non-root")
	case !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || *sc.Privileged:
		t.Error("proxy root filesystem writable or escalation allowed")
	case len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0:
		t.Error("proxy capabilities not all dropped")
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("proxy seccomp is not RuntimeDefault")
	case pod.Annotations[injector.StatusAnnotation] == "":
		t.Error("no status annotation")
	}
	for _, ctr := range pod.Spec.Containers {
		for _, p := range []*corev1.Probe{ctr.LivenessProbe, ctr.ReadinessProbe, ctr.StartupProbe} {
			if p != nil && (p.TCPSocket != nil || p.GRPC != nil) {
				t.Errorf("container %s keeps a TCP/gRPC probe kubelet cannot pass under STRICT", ctr.Name)
			}
		}
	}
}

func readPod(t testing.TB, path string) *corev1.Pod {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(raw, &pod); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &pod
}

func readConfig(t *testing.T, path string) injector.Config {
	t.Helper()
	var cfg injector.Config
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return cfg
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}

func equalPods(a, b *corev1.Pod) bool { return reflect.DeepEqual(a, b) }

// TestDefaultContainer: an injected pod names its first app container as kubectl's
// default (so `kubectl exec pod -- curl` needs no -c and prints no "Defaulted
// container" notice), unless the pod already names one.
func TestDefaultContainer(t *testing.T) {
	for _, tc := range []struct{ set, want string }{{"", "app"}, {"sidecar", "sidecar"}} {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "sidecar"}}}}
		pod.Namespace, pod.Name = "default", "p"
		if tc.set != "" {
			pod.Annotations = map[string]string{injector.DefaultContainerAnnotation: tc.set}
		}
		res, err := injector.Mutate(pod, injector.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Pod.Annotations[injector.DefaultContainerAnnotation]; got != tc.want {
			t.Errorf("pod setting %q: default container %q, want %q", tc.set, got, tc.want)
		}
	}
}
