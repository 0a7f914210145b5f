package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/redirect/agent/catalog"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
	"github.com/rampart-mesh/rampart/test/support"
)

// labelChangeBound is the stated time for a label change made through the API
// to turn an allowed request into a 403 at a proxy fed by rampart-node.
const labelChangeBound = 3 * time.Second

// TestNodeDiscovery runs rampart-proxy with --discovery node against rampart-node's
// catalog, itself watching a real kube-apiserver and etcd: deathstar's inbound
// proxy learns tiefighter's labels through the agent (tiefighter lands, xwing
// from the same address does not borrow them), a label change reaches it within
// labelChangeBound, a Service's endpoints show in /debug/config, and with the
// agent stopped the proxy keeps deciding from its last view and says how old it is.
func TestNodeDiscovery(t *testing.T) {
	env := kubetest.Start(t)
	bin := buildProxy(t)
	dir := t.TempDir()
	if _, err := identity.InitCA(filepath.Join(dir, "ca"), spiffeid.RequireTrustDomainFromString("cluster.local"), 0); err != nil {
		t.Fatal(err)
	}
	c := env.Client
	kubePod(t, c, "tiefighter", "127.0.0.1", map[string]string{"org": "empire"})
	kubePod(t, c, "deathstar-1", "198.18.7.2", map[string]string{"app": "deathstar"})
	ds, err := c.CoreV1().Pods("default").Get(t.Context(), "deathstar-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vip := kubeService(t, c)
	kubeSlice(t, c, "198.18.7.2", "198.18.7.3")
	sock := filepath.Join(dir, "node", "discovery.sock")
	stopAgent := startCatalog(t, env, sock, string(ds.UID))

	app := serveApp(t, new(atomic.Int32))
	hbone, admin := freeAddr(t), freeAddr(t)
	common := []string{"--bundle", "../../policies/starwars", "--ca-dir", filepath.Join(dir, "ca")}
	startProxy(t, bin, append(common, "--service-account", "deathstar", "--listen-hbone", hbone,
		"--upstream", app, "--labels", "app=deathstar", "--discovery", "node", "--discovery-socket", sock, "--listen-admin", admin)...)
	tie, xwing := freeAddr(t), freeAddr(t)
	startProxy(t, bin, append(common, "--service-account", "tiefighter", "--route", tie+"=127.0.0.1:80,proxy="+hbone)...)
	startProxy(t, bin, append(common, "--service-account", "xwing", "--route", xwing+"=127.0.0.1:80,proxy="+hbone)...)
	waitReady(t, admin, 20*time.Second)

	if code := request(t, tie, "POST", "/v1/request-landing"); code != 200 {
		t.Errorf("tiefighter (org=empire through the agent) lands: %d, want 200\n%s", code, fetchBody(t, "http://"+admin+"/debug/config"))
	}
	if code := request(t, xwing, "POST", "/v1/request-landing"); code != 403 {
		t.Errorf("xwing from tiefighter's address: %d, want 403", code)
	}
	support.Eventually(t, "service endpoints in /debug/config", func() bool {
		return nodeViewEndpoints(t, admin, vip) == "198.18.7.2:8080,198.18.7.3:8080"
	})

	start := time.Now()
	relabel(t, c, "tiefighter", "alliance")
	for request(t, tie, "POST", "/v1/request-landing") != 403 {
		if time.Since(start) > labelChangeBound {
			t.Fatalf("label change not enforced within %s", labelChangeBound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("label change enforced after %s (bound %s)", time.Since(start).Round(time.Millisecond), labelChangeBound)
	relabel(t, c, "tiefighter", "empire")
	support.Eventually(t, "tiefighter lands again", func() bool { return request(t, tie, "POST", "/v1/request-landing") == 200 })

	stopAgent()
	support.Eventually(t, "readiness says the agent is gone", func() bool {
		return strings.Contains(fetchBody(t, "http://"+admin+"/healthz/ready"), "agent unreachable")
	})
	time.Sleep(time.Second)
	if code := request(t, tie, "POST", "/v1/request-landing"); code != 200 {
		t.Errorf("agent stopped: tiefighter %d, want 200 from the last view", code)
	}
	if code := request(t, xwing, "POST", "/v1/request-landing"); code != 403 {
		t.Errorf("agent stopped: xwing %d, want 403", code)
	}
	if got := nodeViewEndpoints(t, admin, vip); got != "198.18.7.2:8080,198.18.7.3:8080" {
		t.Errorf("agent stopped: endpoints %q", got)
	}
	if m := fetchBody(t, "http://"+admin+"/metrics"); !strings.Contains(m, "rampart_discovery_view_age_seconds ") {
		t.Errorf("no view age metric in /metrics")
	}
}

// startCatalog runs rampart-node's catalog on sock. Its PodUIDOf is a fake: the
// proxies of this test run in no pod cgroup, so every caller is taken for the
// pod with uid (TestCallerCgroup in redirect/agent/catalog checks the kernel
// path, as root). stop ends it as a killed agent would: the socket goes.
func startCatalog(t *testing.T, env *kubetest.Env, sock, uid string) (stop func()) {
	t.Helper()
	cat, err := catalog.New(catalog.Options{Client: env.Client, Node: "node-a", Heartbeat: 200 * time.Millisecond,
		PodUIDOf: func(int32) (string, error) { return uid, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 2)
	go func() { cat.Run(ctx); done <- nil }()
	go func() { done <- cat.Serve(ctx, sock) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			for range 2 {
				if err := <-done; err != nil {
					t.Errorf("catalog: %v", err)
				}
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

func nodeViewEndpoints(t *testing.T, admin string, vip netip.AddrPort) string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/debug/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cfg struct {
		Discovery struct {
			Source string `json:"source"`
			View   struct {
				Services []struct {
					Addresses []struct {
						Address   netip.AddrPort   `json:"address"`
						Endpoints []netip.AddrPort `json:"endpoints"`
					} `json:"addresses"`
				} `json:"services"`
			} `json:"view"`
		} `json:"discovery"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil || cfg.Discovery.Source != "node" {
		t.Fatalf("/debug/config: %v, discovery %+v", err, cfg.Discovery)
	}
	var out []string
	for _, s := range cfg.Discovery.View.Services {
		for _, a := range s.Addresses {
			if a.Address == vip {
				for _, ep := range a.Endpoints {
					out = append(out, ep.String())
				}
			}
		}
	}
	return strings.Join(out, ",")
}
