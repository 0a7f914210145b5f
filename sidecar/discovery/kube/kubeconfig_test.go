package kube_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/sidecar/discovery/kube"
)

// TestLoadKubeconfig reads every file in testdata/kubeconfig: good ones must give
// the summary below, bad ones an error that says what is wrong.
func TestLoadKubeconfig(t *testing.T) {
	dir := filepath.Join("testdata", "kubeconfig")
	want := map[string]string{
		"token-file-ca.yaml":     "https://127.0.0.1:6443 roots=true certs=0 token=tok-123",
		"client-cert-data.yaml":  "https://kube.example:443 roots=true certs=1 token=",
		"client-cert-files.yaml": "https://127.0.0.1:6443 roots=true certs=1 token=",
		"bad-exec.yaml":          "exec plugins",
		"bad-insecure.yaml":      "insecure-skip-tls-verify",
		"bad-auth-provider.yaml": `auth provider "oidc" is refused`,
		"bad-http.yaml":          "want an https URL",
		"bad-no-context.yaml":    `current-context "prod" not found`,
		"bad-ca-missing.yaml":    "nope.crt",
		"bad-yaml.yaml":          "did not find expected",
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != len(want) {
		t.Fatalf("%d kubeconfig files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		cfg, err := kube.LoadKubeconfig(f)
		if strings.HasPrefix(name, "bad-") {
			if err == nil || !strings.Contains(err.Error(), want[name]) {
				t.Errorf("%s: error %v, want it to say %q", name, err, want[name])
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := summary(t, cfg); got != want[name] {
			t.Errorf("%s: %q, want %q", name, got, want[name])
		}
	}
}

func summary(t *testing.T, cfg *rest.Config) string {
	token := cfg.BearerToken
	if cfg.BearerTokenFile != "" {
		b, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			t.Fatal(err)
		}
		token = strings.TrimSpace(string(b))
	}
	tc, err := rest.TLSConfigFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	certs := 0
	if tc.GetClientCertificate != nil {
		if c, err := tc.GetClientCertificate(nil); err == nil && len(c.Certificate) > 0 {
			certs = 1
		}
	}
	return fmt.Sprintf("%s roots=%v certs=%d token=%s", cfg.Host, tc.RootCAs != nil, certs, token)
}

func TestInClusterOutsideAPod(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := kube.InCluster(); err == nil || !strings.Contains(err.Error(), "KUBERNETES_SERVICE_HOST") {
		t.Errorf("InCluster outside a pod: %v, want it to name $KUBERNETES_SERVICE_HOST", err)
	}
}

func ExampleLoadKubeconfig() {
	cfg, err := kube.LoadKubeconfig("testdata/kubeconfig/token-file-ca.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Host, filepath.Base(cfg.BearerTokenFile))
	// Output: https://127.0.0.1:6443 token
}
