// Package kubetest starts a real kube-apiserver and etcd for tests: the binaries
// test/tools/kube/build.sh builds into $RAMPART_TOOLS_DIR (default <repo>/.cache/bin).
// When they are missing a test is skipped with the reason, and fails when CI=true.
// Only tests import it.
package kubetest

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rampart-mesh/rampart/sidecar/discovery/kube"
)

// Env is a running API server.
type Env struct {
	// Client is an admin client-go clientset, to create objects with.
	Client *kubernetes.Clientset
	// Config reaches the server as the same admin user, read back from
	// Kubeconfig by kube.LoadKubeconfig.
	Config *rest.Config
	// Kubeconfig is a kubeconfig file for that user (for processes under test).
	Kubeconfig string
	// SigningKeyFile is the API server's service-account token signing key (PEM),
	// to make tokens the server itself would have issued (expired ones, say).
	SigningKeyFile string
	rest           *rest.Config
}

// Start runs kube-apiserver and etcd until the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	assets := Assets(t)
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start kube-apiserver from %s: %v", assets, err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(kubeconfig(cfg)), 0o600); err != nil {
		t.Fatal(err)
	}
	kcfg, err := kube.LoadKubeconfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Client: client, Config: kcfg, Kubeconfig: kc, rest: cfg,
		SigningKeyFile: filepath.Join(env.ControlPlane.GetAPIServer().CertDir, "sa-signer.key")}
}

// TokenKubeconfig writes a kubeconfig that authenticates with token alone (a
// service account's, as a pod would), and returns its path.
func (e *Env) TokenKubeconfig(t testing.TB, token string) string {
	t.Helper()
	cfg := rest.AnonymousClientConfig(e.rest)
	cfg.BearerToken = token
	kc := filepath.Join(t.TempDir(), "kubeconfig-token")
	if err := os.WriteFile(kc, []byte(kubeconfig(cfg)), 0o600); err != nil {
		t.Fatal(err)
	}
	return kc
}

func kubeconfig(cfg *rest.Config) string {
	b64 := base64.StdEncoding.EncodeToString
	user := ""
	if len(cfg.CertData) > 0 {
		user += fmt.Sprintf("    client-certificate-data: %s\n    client-key-data: %s\n", b64(cfg.CertData), b64(cfg.KeyData))
	}
	if cfg.BearerToken != "" {
		user += fmt.Sprintf("    token: %s\n", cfg.BearerToken)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: test
contexts:
- name: test
  context: {cluster: test, user: admin}
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
%s`, cfg.Host, b64(cfg.CAData), user)
}

// Assets finds the folder test/tools/kube/build.sh fills: kube-<version>/ under
// $RAMPART_TOOLS_DIR, or <repo>/.cache/bin.
func Assets(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("RAMPART_TOOLS_DIR")
	if dir == "" {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err == nil {
			dir = filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), ".cache", "bin")
		}
	}
	found, _ := filepath.Glob(filepath.Join(dir, "kube-*", "kube-apiserver"))
	if len(found) == 0 {
		Missing(t, "kube-apiserver not built under "+dir+" (run test/tools/kube/build.sh)")
	}
	sort.Strings(found)
	return filepath.Dir(found[len(found)-1])
}

// Missing skips the test with reason, or fails it when CI=true.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}
