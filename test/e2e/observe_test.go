package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/rampart-mesh/rampart/test/demo"
)

// batch is one line of testdata/counters.json: a request sent several times.
type batch struct {
	Caller, Method, Path string
	Times                int
	Allowed              bool
}

// TestDecisionLogAndCounters sends the batches of testdata/counters.json and checks
// that the deathstar proxies logged one decision per request with the source's
// SPIFFE ID, labels, method, path, decision and reason, and that the proxies'
// /metrics counters and the capture counters moved by exactly what was sent.
func TestDecisionLogAndCounters(t *testing.T) {
	sw := starWars(t, demo.Strict)
	var batches []batch
	b, err := os.ReadFile("testdata/counters.json")
	if err == nil {
		err = json.Unmarshal(b, &batches)
	}
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, sw)
	want := map[string]float64{}
	for _, bt := range batches {
		c := map[string]*demo.Client{"tiefighter": sw.Tiefighter, "xwing": sw.Xwing}[bt.Caller]
		for range bt.Times {
			r, err := c.Do(bt.Method, sw.ServiceURL(bt.Path))
			if err != nil || r.Failed() || (r.Status == 403) == bt.Allowed {
				t.Fatalf("%s %s %s: %+v %v", bt.Caller, bt.Method, bt.Path, r, err)
			}
		}
		want[bt.Caller] += float64(bt.Times)
		want[decisionKey(bt.Allowed)] += float64(bt.Times)
	}
	checkDecisionLog(t, sw, batches)
	checkCounters(t, sw, before, snapshot(t, sw), want)
}

func decisionKey(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// checkDecisionLog matches the logged decisions to the batches, field by field.
func checkDecisionLog(t *testing.T, sw *demo.StarWars, batches []batch) {
	t.Helper()
	ds, err := sw.Decisions()
	if err != nil {
		t.Fatal(err)
	}
	got := map[batch]int{}
	for _, d := range ds {
		sa := map[string]string{"spiffe://cluster.local/ns/default/sa/tiefighter": "tiefighter",
			"spiffe://cluster.local/ns/default/sa/xwing": "xwing"}[d.Source]
		org := map[string]string{"tiefighter": "empire", "xwing": "alliance"}[sa]
		if sa == "" || d.Labels["org"] != org || d.Labels["class"] != sa {
			t.Errorf("decision source %q labels %v do not match a caller", d.Source, d.Labels)
		}
		wantReason := map[bool]string{false: "denied by policy"}[d.Allowed]
		if d.Reason != wantReason || d.ID == "" || d.Revision() != demo.StarWarsRevision {
			t.Errorf("decision %q: allowed=%v reason=%q revision=%q", d.ID, d.Allowed, d.Reason, d.Revision())
		}
		got[batch{Caller: sa, Method: d.Method, Path: d.Path, Allowed: d.Allowed}]++
	}
	for _, bt := range batches {
		key := bt
		key.Times = 0
		if got[key] != bt.Times {
			t.Errorf("%d decisions for %s %s %s allowed=%v, want %d", got[key], bt.Caller, bt.Method, bt.Path, bt.Allowed, bt.Times)
		}
	}
}

// counters are the numbers compared before and after the batches.
type counters map[string]float64

func snapshot(t *testing.T, sw *demo.StarWars) counters {
	t.Helper()
	c := counters{}
	ctx := context.Background()
	for _, p := range sw.Deathstar {
		m, err := p.Metrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c["allow"] += m.Sum("rampart_policy_decisions_total", `result="allow"`)
		c["deny"] += m.Sum("rampart_policy_decisions_total", `result="deny"`)
		c["inbound allow"] += m.Sum("rampart_inbound_decisions_total", `decision="allow"`)
		c["inbound deny"] += m.Sum("rampart_inbound_decisions_total", `decision="deny"`)
	}
	for _, cl := range []*demo.Client{sw.Tiefighter, sw.Xwing} {
		m, err := cl.Pod.Metrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c[cl.Pod.Name] = m.Sum("rampart_connections_total", `direction="outbound"`, `kind="hbone"`, `result="ok"`)
		st, err := cl.Pod.Proxy().CaptureStats()
		if err != nil {
			t.Fatal(err)
		}
		c[cl.Pod.Name+" captured"] = float64(st.Redirected)
	}
	return c
}

func checkCounters(t *testing.T, sw *demo.StarWars, before, after counters, want map[string]float64) {
	t.Helper()
	for key, w := range map[string]float64{
		"allow": want["allow"], "deny": want["deny"],
		"inbound allow": want["allow"], "inbound deny": want["deny"],
		"tiefighter": want["tiefighter"], "xwing": want["xwing"],
		"tiefighter captured": want["tiefighter"], "xwing captured": want["xwing"],
	} {
		if got := after[key] - before[key]; got != w {
			t.Errorf("counter %q moved by %v, want %v (before %v, after %v)", key, got, w, before[key], after[key])
		}
	}
}
