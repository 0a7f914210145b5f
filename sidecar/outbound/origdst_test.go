package outbound_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
	"github.com/rampart-mesh/rampart/test/support"
)

const inNetnsEnv = "RAMPART_OUTBOUND_IN_NETNS"

// TestCaptureWithIptablesRedirect checks SO_ORIGINAL_DST end to end: inside a
// network namespace of its own, iptables REDIRECTs connects to 198.18.5.0/24 port
// 80 to the capture listener, which recovers the original destination, resolves it
// through a file registry and tunnels (meshed: HBONE to the real inbound server
// with the Star Wars policy) or passes through (plain).
//
// A Go process cannot keep one goroutine's sockets in another netns, so the test
// sets the namespace up and re-runs itself inside it (ip netns exec).
func TestCaptureWithIptablesRedirect(t *testing.T) {
	if os.Getenv(inNetnsEnv) == "1" {
		captureInNetns(t)
		return
	}
	support.RequireRoot(t, "creating a network namespace and iptables rules needs root")
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			support.Need(t, tool+" is not installed")
		}
	}
	ns := makeNetns(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, self, "-test.run", "^TestCaptureWithIptablesRedirect$", "-test.v")
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("inside %s:\n%s", ns, out)
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("in-namespace run failed: %v", err)
	}
}

func makeNetns(t *testing.T) string {
	t.Helper()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	ns := "rpob" + hex.EncodeToString(suffix)
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	run(t, "ip", "-n", ns, "link", "add", "rpob0", "type", "veth", "peer", "name", "rpob1")
	run(t, "ip", "-n", ns, "link", "set", "rpob1", "up")
	run(t, "ip", "-n", ns, "link", "set", "rpob0", "up")
	run(t, "ip", "-n", ns, "addr", "add", "198.18.5.1/24", "dev", "rpob0")
	run(t, "ip", "-n", ns, "addr", "add", "198.18.5.11/32", "dev", "rpob0")
	// Only connects to port 80 are captured: the proxy's own dials (8080, 15008)
	// must not loop back into it, as uid 1337 is excluded in a pod.
	run(t, "ip", "netns", "exec", ns, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp",
		"-d", "198.18.5.0/24", "--dport", "80", "-j", "REDIRECT", "--to-ports", "15001")
	return ns
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// captureInNetns is the part that runs inside the namespace.
func captureInNetns(t *testing.T) {
	m := newMesh(t)
	appLn, err := net.Listen("tcp", "198.18.5.11:8080")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Ship landed via %s", r.Host)
	})}
	go srv.Serve(appLn)
	defer srv.Close()
	// deathstar-1's proxy: the real inbound server with the Star Wars policy.
	startInbound(t, m, appLn.Addr().String(), "198.18.5.11:15008", "198.18.5.11")

	reg, err := discovery.LoadFile("testdata/netns-registry.json")
	if err != nil {
		t.Fatal(err)
	}
	capture, err := net.Listen("tcp", "127.0.0.1:15001")
	if err != nil {
		t.Fatal(err)
	}
	p, err := outbound.New(outbound.Options{Resolver: reg, TLS: m.clientTLS(t, "tiefighter"),
		ConnectTimeout: 500 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	go p.ServeCapture(capture)
	defer capture.Close()

	tests := []struct{ method, url, want string }{
		{"POST", "http://198.18.5.10/v1/request-landing", "200 Ship landed via 198.18.5.10"}, // meshed, allowed
		{"PUT", "http://198.18.5.10/v1/exhaust-port", "403 Access denied"},                   // meshed, denied by policy
		{"POST", "http://198.18.5.20/v1/request-landing", "200 Ship landed via 198.18.5.20"}, // plain passthrough
		{"POST", "http://198.18.5.30/v1/request-landing", "503 upstream unavailable"},        // proxy unreachable
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader("x"))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := fmt.Sprint(resp.StatusCode, " ", strings.TrimSpace(string(body))); got != tt.want {
			t.Errorf("%s %s: got %q, want %q", tt.method, tt.url, got, tt.want)
		}
	}
}
