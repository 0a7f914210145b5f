package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/support"
)

// ciScale is the reduced run of TestDiscoveryScale: the same code as the full
// comparison, a tenth of the cluster and of the proxies.
func ciScale() config {
	c := fullScale()
	c.pods, c.services, c.namespaces, c.proxies = 200, 40, 4, 20
	c.changes, c.reps, c.settle, c.wave = 3, 1, 2*time.Second, 10
	return c
}

// labelChangeBound is the stated time for a label change to reach every
// proxy, in either arm (TestNodeDiscovery states the same for one proxy).
const labelChangeBound = 3 * time.Second

// TestDiscoveryScale runs the comparison at CI scale so the command cannot rot,
// and checks what holds at any scale: a kube proxy opens 3 watches, the agent a
// handful for all proxies; every label change reaches every proxy within
// labelChangeBound (waitArrival fails otherwise, and the views are checked to
// hold the last change); proxies fed by the agent hold less than proxies with
// their own informers.
func TestDiscoveryScale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver and 40 proxies for about a minute")
	}
	support.RequireRoot(t, "needs root (pod cgroups, rampart-node)")
	c := ciScale()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := toolsAssets(root); err != nil {
		support.Need(t, err.Error())
	}
	var progress bytes.Buffer
	r, err := measure(t.Context(), c, &progress)
	t.Log(progress.String())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r.write(&out)
	t.Log(out.String())
	if !strings.Contains(out.String(), "PROJECTION (linear extrapolation") {
		t.Error("no projection in the report")
	}
	k, okK := r.summarize("kube")
	n, okN := r.summarize("node")
	if !okK || !okN {
		t.Fatalf("arms run: %v", r.runs)
	}
	if k.watches != float64(3*c.proxies) {
		t.Errorf("kube arm: %.0f watches, want 3 per proxy (%d)", k.watches, 3*c.proxies)
	}
	if n.watches < 3 || n.watches > 4 {
		t.Errorf("node arm: %.0f watches, want rampart-node's 3 (catalog) + 1 (its node's pods)", n.watches)
	}
	for _, x := range r.runs {
		if w := slices.Max(x.ChangeAll); w > labelChangeBound.Seconds() {
			t.Errorf("%s: a label change took %.2f s to reach all proxies, bound %s", x.Arm, w, labelChangeBound)
		}
		if len(x.ProxyRSSMB) != c.proxies || len(x.ChangeAll) != c.changes {
			t.Errorf("%s: %d proxies measured, %d changes, want %d and %d", x.Arm, len(x.ProxyRSSMB), len(x.ChangeAll), c.proxies, c.changes)
		}
	}
	if n.proxyMed >= k.proxyMed {
		t.Errorf("proxy RSS median: node %.1f MB, kube %.1f MB: want the agent-fed proxy smaller", n.proxyMed, k.proxyMed)
	}
}
