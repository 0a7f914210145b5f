package images_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/rampart-mesh/rampart/test/support"
	"github.com/rampart-mesh/rampart/test/support/kubeapi"
)

func decodeYAML(t *testing.T, b []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("install YAML: %v", err)
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

// imageRefs collects every `image:` value and every --proxy-image= argument of
// the objects, sorted and without duplicates.
func imageRefs(objs []*unstructured.Unstructured) []string {
	set := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "image" {
					set[s] = true
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			if s, ok := strings.CutPrefix(v, "--proxy-image="); ok {
				set[s] = true
			}
		}
	}
	for _, o := range objs {
		walk(o.Object)
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// dryRun creates the Namespaces for real (a dry-run create of an object in a
// namespace that does not exist fails) and every other object with
// server-side dry-run, on a real kube-apiserver and etcd.
func dryRun(t *testing.T, objs []*unstructured.Unstructured) {
	assets := filepath.Dir(support.Tool(t, kubeTool+"/kube-apiserver", "test/tools/kube/build.sh"))
	ctrllog.SetLogger(logr.Discard()) // envtest logs through controller-runtime's global logger
	cfg := kubeapi.Start(t, &envtest.Environment{BinaryAssetsDirectory: assets}).Config
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			if err := c.Create(ctx, o.DeepCopy()); err != nil {
				t.Fatalf("create %s: %v", o.GetName(), err)
			}
		}
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue
		}
		if err := c.Create(ctx, o.DeepCopy(), client.DryRunAll); err != nil {
			t.Errorf("dry-run %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	t.Logf("%d objects passed server-side dry-run", len(objs))
}
