package main_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestChainStarWars runs three real proxies over loopback: tiefighter's and
// xwing's outbound proxies (explicit routes) tunnel over SPIFFE mTLS HBONE to
// deathstar's inbound proxy, which authorizes each request with the Star Wars
// policy. source.labels come from the registry and count only for the pod whose
// service account the peer's SVID names, so xwing cannot borrow them.
func TestChainStarWars(t *testing.T) {
	bin := buildProxy(t)
	dir := t.TempDir()
	if _, err := identity.InitCA(filepath.Join(dir, "ca"), spiffeid.RequireTrustDomainFromString("cluster.local"), 0); err != nil {
		t.Fatal(err)
	}
	registry := filepath.Join(dir, "registry.json")
	os.WriteFile(registry, []byte(`{"workloads": [{"pod": "tiefighter", "namespace": "default",
		"serviceAccount": "tiefighter", "ip": "127.0.0.1", "labels": {"org": "empire"}, "meshed": true}]}`), 0o644)
	var seen atomic.Int32
	app := serveApp(t, &seen)
	hbone, admin := freeAddr(t), freeAddr(t)
	deathstar := "spiffe://cluster.local/ns/default/sa/deathstar"
	common := []string{"--bundle", "../../policies/starwars", "--ca-dir", filepath.Join(dir, "ca")}

	startProxy(t, bin, append(common, "--service-account", "deathstar", "--listen-hbone", hbone,
		"--upstream", app, "--labels", "app=deathstar", "--registry", registry, "--listen-admin", admin)...)
	tie, wrongID := freeAddr(t), freeAddr(t)
	startProxy(t, bin, append(common, "--service-account", "tiefighter",
		"--route", tie+"=127.0.0.1:80,id="+deathstar+",proxy="+hbone,
		"--route", wrongID+"=127.0.0.1:80,id=spiffe://cluster.local/ns/default/sa/xwing,proxy="+hbone)...)
	xwing := freeAddr(t)
	startProxy(t, bin, append(common, "--service-account", "xwing", "--route", xwing+"=127.0.0.1:80,proxy="+hbone)...)

	waitReady(t, admin, 10*time.Second) // deathstar is up once its admin says ready
	tests := []struct {
		name, addr, method, path string
		want                     int
	}{
		{"tiefighter lands", tie, "POST", "/v1/request-landing", 200},
		{"tiefighter exhaust port", tie, "PUT", "/v1/exhaust-port", 403},
		{"xwing refused", xwing, "POST", "/v1/request-landing", 403},
		{"destination presents an unexpected ID", wrongID, "POST", "/v1/request-landing", 503},
	}
	for _, tt := range tests {
		if code := request(t, tt.addr, tt.method, tt.path); code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.want)
		}
	}
	if n := seen.Load(); n != 1 {
		t.Errorf("app saw %d requests, want 1 (only the landing)", n)
	}
	if got := fetchBody(t, "http://"+admin+"/healthz/ready"); got != "200 ready\n" {
		t.Errorf("ready: %q", got)
	}
	if got := fetchBody(t, "http://"+admin+"/metrics"); !strings.Contains(got, "go_goroutines") {
		t.Errorf("metrics lack the Go collector: %.200s", got)
	}
}

func buildProxy(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rampart-proxy")
	support.GoBuild(t, "", bin, ".")
	return bin
}

// startProxy runs the binary until the test ends, then SIGTERMs it and expects a
// clean exit.
func startProxy(t *testing.T, bin string, args ...string) {
	t.Helper()
	startProxyEnv(t, bin, nil, args...)
}

// startProxyEnv is startProxy with exactly env as the environment (nil: this
// process's).
func startProxyEnv(t *testing.T, bin string, env []string, args ...string) {
	t.Helper()
	var stderr support.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("no exit 10s after SIGTERM\n%s", stderr.String())
		}
	})
}

func fetchBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// waitReady waits until the proxy's admin listener at addr says ready.
func waitReady(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); fetchStatus(addr) != 200; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("proxy with admin %s never became ready", addr)
		}
	}
}

func fetchStatus(addr string) int {
	resp, err := http.Get("http://" + addr + "/healthz/ready")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
