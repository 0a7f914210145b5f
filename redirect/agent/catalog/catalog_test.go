package catalog_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/redirect/agent/catalog"
)

// labelBound is the stated time for a label change made through the API to
// reach a subscriber.
const labelBound = 2 * time.Second

// TestCatalogServesOwnNamespace runs the catalog against a real kube-apiserver.
// Callers are mapped to pods by a fake PodUIDOf (the test process is in no pod
// cgroup; TestCallerCgroup covers the kernel path as root). A pod of node-a in
// empire gets a snapshot of empire only — its services with endpoints, its
// peers (of any node) with labels and SPIFFE IDs, nothing of alliance nor of
// any pod spec —
// then the label change of a peer within labelBound. A pod of another node,
// and a process in no pod, are refused.
func TestCatalogServesOwnNamespace(t *testing.T) {
	c := apiClient(t)
	cl := makeCluster(t, c, "own-", 8)
	var caller atomic.Value
	caller.Store("deathstar")
	sock := serve(t, catalog.Options{Client: c, Node: "node-a", Heartbeat: 300 * time.Millisecond,
		PodUIDOf: func(int32) (string, error) { // fake: see above
			name := caller.Load().(string)
			if name == "" {
				return "", catalog.ErrNoPod
			}
			return cl.uids[name], nil
		}})
	code, lines := stream(t, sock)
	if code != http.StatusOK {
		t.Fatalf("deathstar: %d", code)
	}
	raw, m := next(t, lines)
	for _, leak := range []string{"alliance", "xwing", "198.18.8.4", "secret-image", "hunter2", "PASSWORD", "node-a", "node-b"} {
		if strings.Contains(raw, leak) {
			t.Errorf("snapshot for an empire pod holds %q: %s", leak, raw)
		}
	}
	// Peers: deathstar, tiefighter, and elsewhere (another node, same namespace).
	if !m.Full || len(m.Workloads) != 3 || len(m.Services) != 1 || m.Services[0].Name != "own-empire/deathstar" {
		t.Fatalf("snapshot: %s", raw)
	}
	if a := m.Services[0].Addresses; len(a) != 1 || len(a[0].Endpoints) != 1 || a[0].Endpoints[0].String() != "198.18.8.2:8080" {
		t.Errorf("deathstar endpoints: %+v", a)
	}
	tie := m.Workloads[1]
	if tie.Labels["org"] != "empire" || tie.Identity != "spiffe://cluster.local/ns/own-empire/sa/tiefighter" || !tie.Meshed {
		t.Errorf("tiefighter: %+v", tie)
	}

	start := time.Now()
	pod, err := c.CoreV1().Pods("own-empire").Get(t.Context(), "tiefighter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Labels["org"] = "alliance"
	if _, err := c.CoreV1().Pods("own-empire").Update(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		raw, m = next(t, lines)
		if len(m.Workloads) == 1 && m.Workloads[0].Labels["org"] == "alliance" {
			break
		}
		if !m.Full && len(m.Workloads)+len(m.Services) > 0 {
			t.Fatalf("unexpected delta %s", raw)
		}
	}
	if d := time.Since(start); d > labelBound {
		t.Errorf("label change reached the subscriber after %s, bound %s", d, labelBound)
	} else {
		t.Logf("label change reached the subscriber after %s", d.Round(time.Millisecond))
	}

	for _, who := range []string{"elsewhere", ""} {
		caller.Store(who)
		if code, _ := stream(t, sock); code != http.StatusForbidden {
			t.Errorf("caller %q: %d, want 403", who, code)
		}
	}
}
