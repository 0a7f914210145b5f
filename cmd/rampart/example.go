package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/policies"
	"github.com/rampart-mesh/rampart/rego"
)

// exampleDir is the folder of a shipped bundle that holds its Kubernetes example.
const exampleDir = "k8s"

// exampleImage is the image the example manifests name as shipped; `rampart
// example` replaces it with the one --registry and --tag select.
var exampleImage = injector.ImageRef(injector.DefaultRegistry, injector.DemoImageName, injector.DefaultTag)

// newExampleCmd prints a shipped example (manifests + its policy ConfigMap), ready
// for `kubectl apply -n NS -f -`.
func newExampleCmd() *cobra.Command {
	var registry, tag string
	cmd := &cobra.Command{
		Use:   "example NAME",
		Short: "print a shipped example's manifests and its policy ConfigMap (starwars)",
		Long: "Prints policies/NAME/k8s/*.yaml with their images pointed at --registry and " +
			"--tag, followed by the " + policyConfigMap + " ConfigMap holding the NAME bundle " +
			"built as `rampart policy build` would. No namespace is set: apply it to any " +
			"namespace labelled " + injector.NamespaceLabel + "=" + injector.NamespaceLabelEnabled + " " +
			"(kubectl apply -n NS -f -).",
		Args:      cobra.ExactArgs(1),
		ValidArgs: exampleNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			image := injector.ImageRef(registry, injector.DemoImageName, tag)
			if err := injector.ValidateImage(image); err != nil {
				return err
			}
			return writeExample(cmd.Context(), cmd.OutOrStdout(), args[0], image)
		},
	}
	cmd.Flags().StringVar(&registry, "registry", injector.DefaultRegistry, "registry (and path) of the "+injector.DemoImageName+" image")
	cmd.Flags().StringVar(&tag, "tag", version.Tag(), "tag of the "+injector.DemoImageName+" image (default: this binary's version)")
	return cmd
}

// policyConfigMap is the ConfigMap the injector mounts into every proxy by default.
const policyConfigMap = "rampart-policy"

// exampleNames lists the shipped bundles that carry a k8s example.
func exampleNames() []string {
	var out []string
	for _, n := range policies.Names() {
		if fi, err := fs.Stat(policies.FS, path.Join(n, exampleDir)); err == nil && fi.IsDir() {
			out = append(out, n)
		}
	}
	return out
}

// writeExample writes the example's manifests (as shipped, comments kept, the image
// replaced) and then its policy ConfigMap.
func writeExample(ctx context.Context, w io.Writer, name, image string) error {
	docs, err := exampleManifests(name)
	if err != nil {
		return err
	}
	cm, err := policyConfigMapFor(ctx, name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, d := range docs {
		buf.WriteString("---\n")
		buf.WriteString(strings.ReplaceAll(d, exampleImage, image))
	}
	if err := injector.WriteYAML(&buf, []runtime.Object{cm}); err != nil {
		return fmt.Errorf("example %s: %w", name, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// exampleManifests returns the example's YAML files in name order.
func exampleManifests(name string) ([]string, error) {
	if !contains(exampleNames(), name) {
		return nil, fmt.Errorf("no example %q (have %v)", name, exampleNames())
	}
	dir := path.Join(name, exampleDir)
	files, err := fs.Glob(policies.FS, dir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	out := make([]string, 0, len(files))
	for _, f := range files {
		b, err := fs.ReadFile(policies.FS, f)
		if err != nil {
			return nil, err
		}
		s := string(b)
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		out = append(out, s)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// policyConfigMapFor builds the bundle name (without its Rego tests and its k8s
// example) and wraps it in the ConfigMap the injector mounts.
func policyConfigMapFor(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	tgz, err := buildShippedBundle(ctx, name)
	if err != nil {
		return nil, err
	}
	key := injector.Config{}.WithDefaults().Bundle.Key
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: policyConfigMap, Labels: map[string]string{
			"app.kubernetes.io/part-of": name, "app.kubernetes.io/managed-by": "rampart"}},
		BinaryData: map[string][]byte{key: tgz},
	}, nil
}

// buildShippedBundle copies the shipped bundle to a temporary folder, leaving out
// what a proxy does not need, and builds it into a .tar.gz.
func buildShippedBundle(ctx context.Context, name string) ([]byte, error) {
	src, err := policies.Bundle(name)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "rampart-example-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && p == exampleDir:
			return fs.SkipDir
		case d.IsDir() || strings.HasSuffix(p, "_test.rego"):
			return nil
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := rego.Build(ctx, tmp, &buf, rego.BuildOptions{}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
