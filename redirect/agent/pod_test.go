package agent_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-mesh/rampart/redirect/agent"
)

type podCase struct {
	File     string
	Injected bool
	Spec     agent.PodSpec
	Err      bool
}

func readPod(t testing.TB, file string) *corev1.Pod {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/pods", file))
	if err != nil {
		t.Fatal(err)
	}
	var p corev1.Pod
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestPodSpec reads the pods in testdata/pods: which are captured, with what
// settings, and which annotations are refused.
func TestPodSpec(t *testing.T) {
	b, err := os.ReadFile("testdata/pod_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []podCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			p := readPod(t, c.File)
			if got := agent.Injected(p); got != c.Injected {
				t.Fatalf("Injected = %v, want %v", got, c.Injected)
			}
			if !c.Injected {
				return
			}
			s, err := agent.SpecOf(p)
			if (err != nil) != c.Err {
				t.Fatalf("SpecOf error = %v, want error %v", err, c.Err)
			}
			if !c.Err && !reflect.DeepEqual(s, c.Spec) {
				t.Errorf("SpecOf =\n%+v\nwant\n%+v", s, c.Spec)
			}
		})
	}
}

// FuzzSpecOf feeds arbitrary exclusion annotations: SpecOf must not panic, and what
// it accepts it must have parsed completely.
func FuzzSpecOf(f *testing.F) {
	for _, s := range []string{"8081, 9090", "80,http", "0", "10.0.0.0/8,fd00::/8", "10.0.0.0/33", ""} {
		f.Add(s, s)
	}
	base := readPod(f, "injected_strict.json")
	f.Fuzz(func(t *testing.T, ports, cidrs string) {
		p := base.DeepCopy()
		p.Annotations["rampart.io/exclude-outbound-ports"] = ports
		p.Annotations["rampart.io/exclude-outbound-cidrs"] = cidrs
		s, err := agent.SpecOf(p)
		if err != nil {
			return
		}
		for _, port := range s.ExcludeOut {
			if port == 0 {
				t.Fatalf("accepted port 0 from %q", ports)
			}
		}
	})
}
