package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/policies"
)

const testDemoImage = "127.0.0.1:5000/rampart-demo:v9.9.9-test"

// renderExample runs `rampart example starwars --registry 127.0.0.1:5000 --tag …`.
func renderExample(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	return decodeObjects(t, kubeRun(t, nil, "example", "starwars", "--registry", "127.0.0.1:5000", "--tag", "v9.9.9-test"))
}

// TestExampleStarWars: the printed example holds Cilium's objects (deathstar
// Service + 2-replica Deployment, tiefighter and xwing pods), namespace-free, every
// image the one asked for, and a rampart-policy ConfigMap whose bundle decides
// the Star Wars table.
func TestExampleStarWars(t *testing.T) {
	objs := renderExample(t)
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
		if o.GetNamespace() != "" {
			t.Errorf("%s/%s sets namespace %q: the example must apply to any namespace", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	sort.Strings(got)
	want := []string{"ConfigMap/rampart-policy", "Deployment/deathstar", "Pod/tiefighter", "Pod/xwing",
		"Service/deathstar", "ServiceAccount/deathstar", "ServiceAccount/tiefighter", "ServiceAccount/xwing"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("objects %v, want %v", got, want)
	}
	for _, o := range objs {
		checkExampleObject(t, o)
	}
}

func checkExampleObject(t *testing.T, o *unstructured.Unstructured) {
	switch o.GetKind() {
	case "Deployment":
		if n, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); fmt.Sprint(n) != "2" {
			t.Errorf("deathstar replicas %v, want 2", n)
		}
		labels, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
		if labels["app"] != "deathstar" || labels["org"] != "empire" {
			t.Errorf("deathstar labels %v: the policy matches app=deathstar", labels)
		}
		checkImages(t, o, "spec", "template", "spec", "containers")
	case "Pod":
		org := map[string]string{"tiefighter": "empire", "xwing": "alliance"}[o.GetName()]
		if o.GetLabels()["org"] != org {
			t.Errorf("%s labels %v, want org=%s", o.GetName(), o.GetLabels(), org)
		}
		checkImages(t, o, "spec", "containers")
	case "Service":
		ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
		if len(ports) != 1 || fmt.Sprint(ports[0].(map[string]any)["port"]) != "80" {
			t.Errorf("deathstar Service ports %v, want 80", ports)
		}
	case "ConfigMap":
		checkPolicyConfigMap(t, o)
	}
}

func checkImages(t *testing.T, o *unstructured.Unstructured, path ...string) {
	cs, _, _ := unstructured.NestedSlice(o.Object, path...)
	if len(cs) == 0 {
		t.Errorf("%s: no containers", o.GetName())
	}
	for _, c := range cs {
		if img := c.(map[string]any)["image"]; img != testDemoImage {
			t.Errorf("%s: image %v, want %s", o.GetName(), img, testDemoImage)
		}
	}
}

// checkPolicyConfigMap decides the Star Wars requests with the ConfigMap's bundle,
// as a proxy would load it, and checks the bundle carries no tests or manifests.
func checkPolicyConfigMap(t *testing.T, o *unstructured.Unstructured) {
	b64, _, _ := unstructured.NestedString(o.Object, "binaryData", "bundle.tar.gz")
	tgz, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(tgz) == 0 {
		t.Fatalf("binaryData bundle.tar.gz: %v", err)
	}
	for _, name := range tarNames(t, tgz) {
		if strings.HasSuffix(name, "_test.rego") || strings.Contains(name, "k8s") {
			t.Errorf("bundle holds %s", name)
		}
	}
	file := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := os.WriteFile(file, tgz, 0o644); err != nil {
		t.Fatal(err)
	}
	for in, allowed := range map[string]bool{"tiefighter-land.json": true, "tiefighter-exhaust-port.json": false, "xwing-land.json": false} {
		out, err := run(t, "", "policy", "eval", "--bundle", file, "--input", input+in)
		var d decisionJSON
		if err != nil || json.Unmarshal([]byte(out), &d) != nil || d.Allowed != allowed || d.Revision != "starwars-v1" {
			t.Errorf("%s with the ConfigMap's bundle: %v %s, want allowed=%v", in, err, out, allowed)
		}
	}
}

func tarNames(t *testing.T, tgz []byte) []string {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		} else if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// TestExampleFilesNameOneImage: every image line of the shipped files is the one
// `rampart example` replaces, so --registry cannot leave an image behind.
func TestExampleFilesNameOneImage(t *testing.T) {
	re := regexp.MustCompile(`(?m)^\s*-?\s*image:\s*(\S+)`)
	files, _ := fs.Glob(policies.FS, "*/"+exampleDir+"/*.yaml")
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		b, _ := fs.ReadFile(policies.FS, f)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if m[1] != exampleImage {
				t.Errorf("%s names image %s; use %s (rampart example rewrites only that)", f, m[1], exampleImage)
			}
		}
		if regexp.MustCompile(`(?m)^\s*namespace:`).Match(b) {
			t.Errorf("%s sets a namespace", f)
		}
	}
}

func TestExampleRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"example", "nope"},
		{"example", "starwars", "--registry", "Bad Registry"},
		{"example"},
	} {
		if out, err := run(t, "", args...); err == nil {
			t.Errorf("rampart %v: no error\n%s", args, out)
		}
	}
}

// checkExampleDryRun dry-runs every object of the example in an opted-in
// namespace (the webhook injects the pods on the way) and checks that the proxy
// mounts the example's ConfigMap.
func checkExampleDryRun(t *testing.T, ctx context.Context, c client.Client) {
	for _, o := range renderExample(t) {
		o.SetNamespace("empire")
		if err := c.Create(ctx, o, client.DryRunAll); err != nil {
			t.Errorf("dry-run %s %s: %v", o.GetKind(), o.GetName(), err)
			continue
		}
		if o.GetKind() != "Pod" {
			continue
		}
		vols, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumes")
		mounted := false
		for _, v := range vols {
			cm, _, _ := unstructured.NestedString(v.(map[string]any), "configMap", "name")
			mounted = mounted || cm == policyConfigMap
		}
		if !mounted || proxyCountU(o) != 1 {
			t.Errorf("%s after admission: %d proxies, policy ConfigMap mounted %v", o.GetName(), proxyCountU(o), mounted)
		}
	}
}

func proxyCountU(o *unstructured.Unstructured) int {
	n := 0
	ics, _, _ := unstructured.NestedSlice(o.Object, "spec", "initContainers")
	for _, c := range ics {
		if c.(map[string]any)["name"] == injector.ProxyContainerName {
			n++
		}
	}
	return n
}
