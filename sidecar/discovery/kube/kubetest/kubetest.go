// Package kubetest is the discovery side of test/support/kubeapi: a real
// kube-apiserver and etcd (kubeapi.Start: skipped, or failed when CI=true,
// without the binaries; stopped, and checked gone, at the test's end) with the
// kubeconfig files a proxy under test reads through kube.LoadKubeconfig. It is a
// test helper: only tests import it (test/layout_test.go).
package kubetest

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/sidecar/discovery/kube"
	"github.com/rampart-mesh/rampart/test/support/kubeapi"
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
	s := kubeapi.Start(t, nil)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(kubeconfig(s.Config)), 0o600); err != nil {
		t.Fatal(err)
	}
	kcfg, err := kube.LoadKubeconfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Client: s.Client, Config: kcfg, Kubeconfig: kc, rest: s.Config,
		SigningKeyFile: filepath.Join(s.Env.ControlPlane.GetAPIServer().CertDir, "sa-signer.key")}
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
