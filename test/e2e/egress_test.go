package e2e_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/egress/egresstest"
	"github.com/rampart-mesh/rampart/test/demo"
	"github.com/rampart-mesh/rampart/test/support"
)

type egressCase struct {
	From, URL, Via, Why string
	Allowed             bool
}

// TestEgressSeedScenario runs the egress seed scenario with eBPF capture: pods a
// and b (meshed) fetch from an "internet" namespace serving github.com,
// httpbin.org, google.com and evil.example over HTTP and HTTPS (a CA the apps
// trust), its names served by a DNS server in that namespace. Each call of
// testdata/egress.json is allowed (the host answers) or denied (HTTP 403 with the
// policy's body, or the TLS access_denied alert), denied hosts receive nothing,
// and each pod's decision log holds the refused hosts.
func TestEgressSeedScenario(t *testing.T) {
	env := newEnv(t)
	eg, err := demo.StartEgress(env)
	if err != nil {
		t.Fatal(err)
	}
	checkEgressSeed(t, eg)
}

// TestEgressIptablesRedirect is the outside check of the egress contract: with no
// eBPF at all, each pod's rampart-proxy runs with only `--bundle PATH
// --listen-outbound 127.0.0.1:15001` and identity flags, and an iptables nat
// OUTPUT REDIRECT (the proxy's uid 1337 excluded, as Istio does) sends its app's
// TCP there; the proxy reads each destination with SO_ORIGINAL_DST. The seed
// scenario must come out exactly as with eBPF capture: allowed hosts answer over
// HTTP and HTTPS, denied ones get 403 or the access_denied alert, Host and SNI
// spoofed to another host's address are refused.
func TestEgressIptablesRedirect(t *testing.T) {
	env := newEnv(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		if _, err := os.Stat("/usr/sbin/iptables"); err != nil {
			support.Need(t, "iptables is not installed (make deps)")
		}
	}
	eg, err := demo.StartEgressRedirect(env)
	if err != nil {
		t.Fatal(err)
	}
	checkEgressSeed(t, eg)
}

// checkEgressSeed runs testdata/egress.json through eg and checks what reached
// the internet and what the decision logs hold.
func checkEgressSeed(t *testing.T, eg *demo.Egress) {
	t.Helper()
	checkEgressCases(t, eg)
	for pod, refused := range map[string]string{"app-a": `"host":"google.com"`, "app-b": `"host":"github.com"`} {
		b, _ := os.ReadFile(eg.Env.Path(pod + "-decisions.log"))
		if !strings.Contains(string(b), `"path":"rampart/egress/allow"`) || !strings.Contains(string(b), refused) {
			t.Errorf("%s decision log lacks the refused %s:\n%.2000s", pod, refused, b)
		}
	}
}

// checkEgressCases runs testdata/egress.json through eg and checks what reached
// the internet.
func checkEgressCases(t *testing.T, eg *demo.Egress) {
	t.Helper()
	var cases []egressCase
	readJSON(t, "testdata/egress.json", &cases)
	allowedTo := map[string]int{}
	for _, c := range cases {
		client := map[string]*demo.Client{"a": eg.A, "b": eg.B}[c.From]
		var via netip.Addr
		if c.Via != "" {
			via = demo.InternetHosts[c.Via]
		}
		r, err := client.Get(c.URL, via)
		if err != nil {
			t.Fatal(err)
		}
		host := hostOf(c.URL)
		switch {
		case c.Allowed:
			if r.Status != 200 || r.Body != "hello from "+host+"\n" {
				t.Errorf("%s → %s: %+v, want hello from %s", c.From, c.URL, r, host)
			}
			allowedTo[host]++
		case strings.HasPrefix(c.URL, "https://"):
			if r.Status != 0 || !strings.Contains(r.Err, "access denied") {
				t.Errorf("%s → %s via %q (%s): %+v, want the access_denied alert", c.From, c.URL, c.Via, c.Why, r)
			}
		default:
			body := "Access denied: egress to " + host + "\n" // the policy's own body
			if c.Via != "" {
				body = "Access denied" // refused before the policy: not an address of host
			}
			if r.Status != 403 || r.Body != body {
				t.Errorf("%s → %s via %q (%s): %+v, want 403 with the policy's body", c.From, c.URL, c.Via, c.Why, r)
			}
		}
	}
	for host := range demo.InternetHosts {
		want := allowedTo[host]
		if _, err := eventuallyErr(5*time.Second, 50*time.Millisecond, func() error {
			if n := eg.Seen(host); n != want {
				return fmt.Errorf("%s received %d requests, %d were allowed", host, n, want)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
}

func hostOf(url string) string {
	return strings.SplitN(strings.SplitN(url, "://", 2)[1], "/", 2)[0]
}

// TestEgressBypassCorpusCaptured sends the raw-bytes bypass corpus
// (sidecar/egress/testdata/bypass.txt) from pods a and b to the internet hosts'
// addresses, captured by eBPF into each pod's proxy: a case the policy denies
// never opens a connection to its host, an allowed one opens exactly one.
func TestEgressBypassCorpusCaptured(t *testing.T) {
	env := newEnv(t)
	eg, err := demo.StartEgress(env)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := egresstest.LoadCorpus("../../sidecar/egress/testdata/bypass.txt")
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]uint16{"http": 80, "https": 443}
	want := map[string]int{}
	for _, c := range cases {
		b, err := c.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		client := map[string]*demo.Client{"a": eg.A, "b": eg.B}[c.App]
		dst := netip.AddrPortFrom(demo.InternetHosts[c.To], ports[c.Port])
		if _, err := client.Raw(dst, c.Segment(), b); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if c.Allowed() {
			want[fmt.Sprintf("%s %d", c.To, dst.Port())]++
		}
	}
	for host := range demo.InternetHosts {
		for _, port := range ports {
			key := fmt.Sprintf("%s %d", host, port)
			if _, err := eventuallyErr(5*time.Second, 50*time.Millisecond, func() error {
				if n := eg.Conns(host, port); n != want[key] {
					return fmt.Errorf("%s: %d connections, %d cases allowed", key, n, want[key])
				}
				return nil
			}); err != nil {
				t.Error(err)
			}
		}
	}
}
