package main

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rampart-mesh/rampart/test/support"
	"github.com/rampart-mesh/rampart/test/support/kubeapi"
)

// kubeVersion names the folder test/tools/kube/build.sh fills.
const kubeVersion = "kube-v1.37.0"

// kubeAssets returns the folder holding kube-apiserver, etcd and kubectl, or skips
// the test (fails it under CI=true) when they have not been built.
func kubeAssets(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(support.ToolsDir(t), kubeVersion)
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			support.Need(t, "no "+bin+" in "+dir+": run test/tools/kube/build.sh .cache/bin (or make tools)")
		}
	}
	return dir
}

// startKubectl runs a real kube-apiserver and etcd for the test, as startKube, and
// returns the environment under which kubectl (from the same tool folder) talks to
// it: the README's kubectl commands run as a user would type them.
func startKubectl(t *testing.T) []string {
	t.Helper()
	assets := kubeAssets(t)
	env := kubeapi.Start(t, &envtest.Environment{BinaryAssetsDirectory: assets}).Env
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"KUBECONFIG=" + kubeconfig, "PATH=" + assets + string(os.PathListSeparator) + os.Getenv("PATH")}
}

// startKube runs a real kube-apiserver and etcd (test/support/kubeapi) for the
// test and stops them at its end.
func startKube(t *testing.T) *rest.Config {
	t.Helper()
	return kubeapi.Start(t, &envtest.Environment{BinaryAssetsDirectory: kubeAssets(t)}).Config
}
