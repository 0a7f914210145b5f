package injector_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-mesh/rampart/injector"
)

// TestInitContainerOrder checks where the capture check goes: right after the
// proxy's native sidecar (whose startup probe holds it until the proxy listens),
// before the pod's own init containers and its app, and only when the pod's
// exclusions leave the sentinel captured.
func TestInitContainerOrder(t *testing.T) {
	for _, tt := range []struct {
		name  string
		in    string
		inits []string
	}{
		{"simple", "testdata/mutate/simple.yaml", []string{"rampart-proxy", "rampart-check"}},
		{"own init containers", "testdata/mutate/multi-container.yaml", []string{"rampart-proxy", "rampart-check", "migrate"}},
		{"all addresses excluded", "testdata/mutate/exclude-check-cidr.yaml", []string{"rampart-proxy"}},
		{"sentinel port excluded", "testdata/mutate/exclude-check-port.yaml", []string{"rampart-proxy"}},
		{"restartPolicy Never", "testdata/mutate/job.yaml", []string{"rampart-proxy", "rampart-check"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pod := readPod(t, tt.in)
			res, err := injector.Mutate(pod, injector.Config{})
			if err != nil || res.Skipped != "" {
				t.Fatalf("Mutate: %v %q", err, res.Skipped)
			}
			var names []string
			for _, c := range res.Pod.Spec.InitContainers {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, tt.inits) {
				t.Errorf("init containers %v, want %v", names, tt.inits)
			}
			if !slices.EqualFunc(res.Pod.Spec.Containers, pod.Spec.Containers, sameName) {
				t.Error("app containers changed")
			}
			if len(names) > 1 && names[1] == injector.CheckContainerName {
				assertCheck(t, res.Pod.Spec.InitContainers[1], res.Pod.Spec.InitContainers[0])
			}
		})
	}
}

func sameName(a, b corev1.Container) bool { return a.Name == b.Name && a.Image == b.Image }

// assertCheck holds the check container to what capture and the kubelet need,
// independent of the golden files.
func assertCheck(t *testing.T, c, proxy corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	switch {
	case c.RestartPolicy != nil:
		t.Error("rampart-check is a sidecar; it must run to completion before the app")
	case c.Image != proxy.Image || len(c.Args) == 0 || c.Args[0] != "check-capture" || len(c.Command) != 0:
		t.Errorf("rampart-check runs %v %v in %s, want the proxy image's check-capture", c.Command, c.Args, c.Image)
	case sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == injector.ProxyUID || *sc.RunAsUser == 0 || !*sc.RunAsNonRoot:
		t.Error("rampart-check must run as a non-root uid other than the proxy's (capture exempts 1337)")
	case *sc.AllowPrivilegeEscalation || *sc.Privileged || len(sc.Capabilities.Add) != 0 || sc.Capabilities.Drop[0] != "ALL":
		t.Error("rampart-check has privileges")
	case c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero():
		t.Error("rampart-check has no resources (namespaces with quotas refuse it)")
	case len(c.VolumeMounts) != 0 || len(c.Env) != 0:
		t.Error("rampart-check needs no volumes or environment")
	}
}
