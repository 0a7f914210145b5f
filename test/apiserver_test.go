package test_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAPIServersStartThroughKubeapi: every test that starts a kube-apiserver
// (imports envtest) does it through test/support/kubeapi, which stops the
// server at the test's end and fails the test when a process of it is left
// running. A CI run used to leave one apiserver + etcd pair behind: a package
// sharing a server that nothing stopped.
//
// test/bench/discovery is a command, not a test: it stops (and kills) its own.
func TestAPIServersStartThroughKubeapi(t *testing.T) {
	const (
		envtest = "sigs.k8s.io/controller-runtime/pkg/envtest"
		kubeapi = module + "/test/support/kubeapi"
	)
	exempt := map[string]bool{"test/support/kubeapi": true, "test/bench/discovery": true}
	var users int
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		if rel, _ := filepath.Rel("..", filepath.Dir(path)); exempt[filepath.ToSlash(rel)] {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		imps := map[string]bool{}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			imps[p] = true
		}
		if imps[envtest] {
			users++
			if !imps[kubeapi] {
				t.Errorf("%s imports envtest without %s: start the apiserver with kubeapi.Start or kubeapi.Shared", path, kubeapi)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if users == 0 {
		t.Error("no file imports envtest: the walk found nothing, the check is blind")
	}
}
