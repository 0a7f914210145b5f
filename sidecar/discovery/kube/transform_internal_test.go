package kube

// White-box on purpose: the trims are unexported, and reaching them from outside
// would need an API server per fuzz input.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

// TestTrim trims every object in testdata/objects and compares what is kept.
func TestTrim(t *testing.T) {
	want := map[string]string{
		"pod-meshed.json":           "pod default/deathstar-1 rv=42 created=2026-11-22T04:00:00Z sa=deathstar meshed=true id=spiffe://cluster.local/ns/default/sa/deathstar labels=map[class:deathstar org:empire] ips=[198.18.5.2 fd00::2]",
		"pod-hostnetwork.json":      "pod kube-system/node-agent rv= created=0001-01-01T00:00:00Z sa=agent meshed=true id=spiffe://cluster.local/ns/kube-system/sa/agent labels=map[org:empire] ips=[]",
		"pod-succeeded.json":        "pod default/job-1 rv= created=0001-01-01T00:00:00Z sa=default meshed=false id= labels=map[] ips=[]",
		"pod-plain-default-sa.json": "pod default/legacy rv= created=0001-01-01T00:00:00Z sa=default meshed=false id= labels=map[] ips=[198.18.5.9]",
		"pod-wrong-types.json":      "pod default/odd rv= created=0001-01-01T00:00:00Z sa=default meshed=false id= labels=map[] ips=[]",
		"service-dual.json":         "service default/deathstar rv=7 vips=[10.0.0.10 fd00:10::a] ports=map[80:http 9090:admin]",
		"service-headless.json":     "service default/db rv= vips=[] ports=map[5432:]",
		"slice-mixed.json":          "slice default/deathstar-abc service=default/deathstar ports=map[http:8080] ready=[198.18.5.2 198.18.5.4]",
		"slice-orphan.json":         "slice default/manual service= ports=map[:443] ready=[fd00::5]",
	}
	files, _ := filepath.Glob("testdata/objects/*.json")
	if len(files) != len(want) {
		t.Fatalf("%d object files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		u := readObject(t, f)
		if got := summarize(trimAny(u)); got != want[filepath.Base(f)] {
			t.Errorf("%s:\n got %s\nwant %s", filepath.Base(f), got, want[filepath.Base(f)])
		}
	}
}

// TestTrimWithPassesTrimmed: client-go may hand the transform an object it has
// already trimmed, or a tombstone; both must come out as trimmed objects.
func TestTrimWithPassesTrimmed(t *testing.T) {
	tf := trimWith(trimService)
	u := readObject(t, "testdata/objects/service-dual.json")
	once, err := tf(u)
	if err != nil {
		t.Fatal(err)
	}
	if twice, err := tf(once); err != nil || twice != once {
		t.Errorf("trimmed object transformed again: %v, %v", twice, err)
	}
	tomb, err := tf(cache.DeletedFinalStateUnknown{Key: "default/deathstar", Obj: u})
	if _, ok := tomb.(cache.DeletedFinalStateUnknown).Obj.(*service); err != nil || !ok {
		t.Errorf("tombstone: %#v, %v; want its object trimmed", tomb, err)
	}
	if _, err := tf("a string"); err == nil {
		t.Error("a string was accepted as an object")
	}
}

func readObject(t testing.TB, file string) *unstructured.Unstructured {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return u
}

func trimAny(u *unstructured.Unstructured) any {
	switch u.GetKind() {
	case "Pod":
		return trimPod(u, "cluster.local", "rampart-proxy")
	case "Service":
		return trimService(u)
	}
	return trimSlice(u)
}

func summarize(obj any) string {
	switch o := obj.(type) {
	case *pod:
		return fmt.Sprintf("pod %s rv=%s created=%s sa=%s meshed=%v id=%s labels=%v ips=%v",
			o.key(), o.rv, o.created, o.w.ServiceAccount, o.w.Meshed, o.w.Identity, o.w.Labels, o.ips)
	case *service:
		return fmt.Sprintf("service %s rv=%s vips=%v ports=%v", o.key(), o.rv, o.vips, o.ports)
	case *slice:
		return fmt.Sprintf("slice %s service=%s ports=%v ready=%v", o.key(), o.service, o.ports, o.ready)
	}
	return fmt.Sprintf("%T", obj)
}

// FuzzTrim feeds arbitrary JSON objects to every trim: none may panic, and what
// they keep must hold the invariants lookups rely on.
func FuzzTrim(f *testing.F) {
	files, _ := filepath.Glob("testdata/objects/*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj map[string]any
		if json.Unmarshal(data, &obj) != nil || obj == nil {
			return
		}
		u := &unstructured.Unstructured{Object: obj}
		p := trimPod(u, "cluster.local", "rampart-proxy")
		spec, _ := obj["spec"].(map[string]any)
		hostNet, present := spec["hostNetwork"]
		if len(p.ips) > 0 && present && hostNet != false {
			t.Errorf("host-network pod keeps addresses %v", p.ips)
		}
		if p.w.Meshed != (p.w.Identity != "") || p.w.ServiceAccount == "" {
			t.Errorf("pod workload %+v", p.w)
		}
		s := trimService(u)
		if _, ok := s.ports[0]; ok {
			t.Error("service port 0 kept")
		}
		sl := trimSlice(u)
		for _, ip := range append(append(p.ips, s.vips...), sl.ready...) {
			if !ip.IsValid() || ip.Is4In6() {
				t.Errorf("address %v kept", ip)
			}
		}
		if slices.Contains(addrStrings(p.ips), "") {
			t.Error("empty index value")
		}
	})
}
