package e2e_test

import (
	"encoding/hex"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/egress/egresstest"
	"github.com/rampart-mesh/rampart/test/demo"
)

// TestEgressGateway runs the egress seed scenario through the egress gateway:
// pods a and b (eBPF capture) route github.com and google.com over HBONE to a
// gateway pod running rampart-proxy --serve-egress-gateway, which decides with
// the calling pod's SPIFFE ID and labels (a reaches github.com, b is refused
// with 403 or the access_denied alert, and the gateway's decision log names b),
// refuses Host and SNI spoofed to another host's address, and dials out from
// its own address: the routed hosts never see a pod's address. A pod cannot
// go around the gateway: a routed Host later on a connection its own proxy
// opened elsewhere is refused there, and TLS without SNI or with another name
// to a routed host's address is decided (denied) by the pod's own policy.
func TestEgressGateway(t *testing.T) {
	env := newEnv(t)
	eg, err := demo.StartEgressGateway(env)
	if err != nil {
		t.Fatal(err)
	}
	checkEgressCases(t, eg)

	b, _ := os.ReadFile(env.Path("egress-gateway-decisions.log"))
	if !hasLine(string(b), `"principal":"spiffe://cluster.local/ns/default/sa/app-b"`, `"host":"github.com"`, `"allowed":false`) ||
		!hasLine(string(b), `"principal":"spiffe://cluster.local/ns/default/sa/app-a"`, `"host":"github.com"`, `"allowed":true`) {
		t.Errorf("gateway decision log lacks a's allowed and b's refused github.com:\n%.3000s", b)
	}

	github := demo.InternetHosts["github.com"]
	get := func(host string) string { return "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n" }
	for _, c := range []struct {
		name string
		dst  netip.AddrPort
		raw  []byte
		want string // substring of the answer
	}{
		{"routed Host after an unrouted one on the same connection",
			netip.AddrPortFrom(demo.InternetHosts["httpbin.org"], 80), []byte(get("httpbin.org") + get("github.com")),
			"github.com is reached through the egress gateway"},
		{"TLS without SNI to github.com's address", netip.AddrPortFrom(github, 443), egresstest.Hello{}.Bytes(),
			"\x15\x03\x03\x00\x02\x02\x31"},
		{"SNI httpbin.org to github.com's address", netip.AddrPortFrom(github, 443),
			egresstest.Hello{Names: []string{"httpbin.org"}}.Bytes(), "\x15\x03\x03\x00\x02\x02\x31"},
	} {
		r, err := eg.A.Raw(c.dst, 0, c.raw)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := hex.DecodeString(r.Body)
		if !strings.Contains(string(got), c.want) {
			t.Errorf("bypass %s: answer %q (err %q), want %q", c.name, got, r.Err, c.want)
		}
	}
	for _, host := range demo.GatewayHosts {
		if n := eg.ConnsFrom(host, demo.GatewayIP); n == 0 {
			t.Errorf("%s saw no connection from the gateway", host)
		}
		for _, pod := range []*demo.Client{eg.A, eg.B} {
			if n := eg.ConnsFrom(host, pod.Pod.IP); n != 0 {
				t.Errorf("%s saw %d connections straight from %s", host, n, pod.Pod.Name)
			}
		}
	}
}

// BenchmarkEgressGateway compares pod a's egress decided by its own proxy
// (httpbin.org: SNI or Host peeked, DNS check, decision, dialled from the pod)
// with egress through the gateway (github.com: peeked, sent over a pooled HBONE
// mTLS connection to the gateway, which checks, decides and dials out), each
// request a new connection from the pod's client (eBPF capture), over HTTPS and
// plain HTTP. The four paths alternate request by request (A, B, A, B), so load
// on a shared machine hits them alike; it reports each path's median in ms and
// the gateway/local ratio of medians. Every request includes the client's
// stdin/stdout round trip, the same on all paths.
func BenchmarkEgressGateway(b *testing.B) {
	env := benchEnv(b)
	eg, err := demo.StartEgressGateway(env)
	if err != nil {
		b.Fatal(err)
	}
	paths := []struct{ name, url string }{
		{"local-https", "https://httpbin.org/get"}, {"gateway-https", "https://github.com/"},
		{"local-http", "http://httpbin.org/get"}, {"gateway-http", "http://github.com/"},
	}
	took := make([][]float64, len(paths))
	for b.Loop() {
		for i, p := range paths {
			start := time.Now()
			r, err := eg.A.Get(p.url, netip.Addr{})
			if err != nil || r.Status != 200 {
				b.Fatalf("%s: %+v %v", p.name, r, err)
			}
			took[i] = append(took[i], float64(time.Since(start).Microseconds())/1000)
		}
	}
	med := make([]float64, len(paths))
	for i, p := range paths {
		slices.Sort(took[i])
		med[i] = took[i][len(took[i])/2]
		b.ReportMetric(med[i], p.name+"-ms")
	}
	b.ReportMetric(med[1]/med[0], "gateway/local-https")
	b.ReportMetric(med[3]/med[2], "gateway/local-http")
}
