package main_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/support"
)

// TestContract runs the real binary the way non-Kubernetes users do:
// --bundle PATH --listen-plaintext ADDR --upstream ADDR.
func TestContract(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rampart-proxy")
	support.GoBuild(t, "", bin, ".")
	var seen atomic.Int32
	app := serveApp(t, &seen)
	listen := freeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--bundle", "../../sidecar/testdata/landing", "--listen-plaintext", listen, "--upstream", app)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	if code := request(t, listen, "POST", "/v1/request-landing"); code != 200 {
		t.Errorf("landing: %d, want 200", code)
	}
	if code := request(t, listen, "PUT", "/v1/exhaust-port"); code != 403 {
		t.Errorf("exhaust port: %d, want 403", code)
	}
	if n := seen.Load(); n != 1 {
		t.Errorf("app saw %d requests, want 1", n)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	badFlags(t, bin)
}

// badFlags checks that a misconfigured proxy exits non-zero and says why.
func badFlags(t *testing.T, bin string) {
	for _, tc := range []struct{ args, want string }{
		{"--mode LAX --bundle x --listen-plaintext 127.0.0.1:0", "STRICT or PERMISSIVE"},
		{"--bundle ../../sidecar/testdata/nonexistent --listen-plaintext 127.0.0.1:0", "load bundle"},
		{"--bundle ../../sidecar/testdata/landing", "no listener"},
	} {
		out, err := exec.Command(bin, strings.Fields(tc.args)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: err %v, output %s, want it to say %q", tc.args, err, out, tc.want)
		}
	}
}

func serveApp(t *testing.T, seen *atomic.Int32) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		io.WriteString(w, "landed")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// request retries while the proxy starts.
func request(t *testing.T, addr, method, path string) int {
	t.Helper()
	for range 100 {
		req, _ := http.NewRequest(method, "http://"+addr+path, nil)
		req.Host = "deathstar"
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("proxy at %s never answered", addr)
	return 0
}
