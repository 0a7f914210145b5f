package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"testing"

	"github.com/rampart-mesh/rampart/policies"
	"github.com/rampart-mesh/rampart/test/demo"
	"github.com/rampart-mesh/rampart/test/support"
)

// npPod is one pod of testdata/networkpolicy/pods.json.
type npPod struct {
	Name, Namespace, IP string
	Labels              map[string]string
	Server, Client      bool
	Unmeshed            bool
}

// npCase is one call of testdata/networkpolicy/cases.json.
type npCase struct {
	Recipe   int
	From, To string
	Allowed  bool
	Why      string
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestNetworkPolicyRecipes runs the six NetworkPolicy recipes of
// policies/networkpolicy, configured by testdata/networkpolicy/data.json, across
// pods of two namespaces (default in 198.18.8.0/24, prod in 198.18.10.0/24):
// every call of cases.json is made from its pod to the destination pod's IP and
// must be answered by the app (allowed) or 403 (denied), as the destination
// proxy's decision log says.
func TestNetworkPolicyRecipes(t *testing.T) {
	env := newEnv(t)
	var specs []npPod
	var cases []npCase
	readJSON(t, "testdata/networkpolicy/pods.json", &specs)
	readJSON(t, "testdata/networkpolicy/cases.json", &cases)
	pods, clients := startNetpol(t, env, specs)
	for _, c := range cases {
		name := fmt.Sprintf("recipe %d %s to %s", c.Recipe, c.From, c.To)
		t.Run(name, func(t *testing.T) {
			to := pods[c.To]
			r, err := clients[c.From].Do("GET", fmt.Sprintf("http://%s/v1/", to.IP))
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 200, false: 403}[c.Allowed]; r.Status != want {
				t.Errorf("got %d %q (err %q), want %d (%s)", r.Status, r.Body, r.Err, want, c.Why)
			}
			ds, err := to.Proxy().Decisions()
			if err != nil || len(ds) == 0 {
				t.Fatalf("no decision logged by %s: %v", c.To, err)
			}
			if d := ds[len(ds)-1]; d.Allowed != c.Allowed || d.Path != "/v1/" {
				t.Errorf("%s logged %s", c.To, d.Raw)
			}
		})
	}
}

// startNetpol builds the pods: servers with PERMISSIVE proxies (so unmeshed
// callers are decided, as unauthenticated), meshed clients with STRICT ones.
func startNetpol(t *testing.T, env *demo.Env, specs []npPod) (map[string]*demo.Pod, map[string]*demo.Client) {
	t.Helper()
	if err := env.InitCA(); err != nil {
		t.Fatal(err)
	}
	bundle := netpolBundle(t, env)
	pods := map[string]*demo.Pod{}
	var all []*demo.Pod
	for _, s := range specs {
		p, err := env.AddPod(demo.PodSpec{Name: s.Name, Namespace: s.Namespace, IP: netip.MustParseAddr(s.IP),
			Labels: s.Labels, Meshed: !s.Unmeshed})
		if err != nil {
			t.Fatal(err)
		}
		pods[s.Name] = p
		all = append(all, p)
	}
	if err := env.WriteRegistry(all, nil); err != nil {
		t.Fatal(err)
	}
	clients := map[string]*demo.Client{}
	for _, s := range specs {
		p := pods[s.Name]
		mode := map[bool]demo.Mode{true: demo.Permissive, false: demo.Strict}[s.Server]
		if !s.Unmeshed {
			if err := p.Mesh(demo.ProxyOptions{Mode: mode, Bundle: bundle}); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		if s.Server {
			_, err = p.StartDeathstar() // any app answering GET /v1/ will do
		} else {
			clients[s.Name], err = p.StartClient()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return pods, clients
}

// netpolBundle writes policies/networkpolicy with the test's data.json.
func netpolBundle(t *testing.T, env *demo.Env) string {
	t.Helper()
	fsys, err := policies.Bundle("networkpolicy")
	if err != nil {
		support.Need(t, err.Error())
	}
	data, err := os.ReadFile("testdata/networkpolicy/data.json")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := env.WriteBundle("networkpolicy", fsys, "networkpolicy-e2e-1",
		map[string]string{"rampart/networkpolicy/data.json": string(data)})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
