package replay_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
	"github.com/rampart-mesh/rampart/rego/replay"
)

func starwarsEngine(t testing.TB) *rego.Engine {
	t.Helper()
	e, err := rego.New()
	if err != nil {
		t.Fatal(err)
	}
	loadStarwars(t, e)
	return e
}

func loadStarwars(t testing.TB, e *rego.Engine) {
	t.Helper()
	if err := e.LoadDir(context.Background(), "main", "../../policies/starwars"); err != nil {
		t.Fatal(err)
	}
}

// TestReplayStarwars: the shipped Star Wars policy over the observed traffic keeps
// the landings and would deny every other flow, each reported once with counts
// and its first example.
func TestReplayStarwars(t *testing.T) {
	for _, workers := range []int{1, 3} {
		r, err := replay.Run(context.Background(), starwarsEngine(t),
			decisionlog.Files("testdata/starwars.log"), replay.Options{Workers: workers, Batch: 7})
		if err != nil {
			t.Fatal(err)
		}
		want := replay.Totals{Decisions: 63, Unchanged: 40, AllowToDeny: 23}
		if r.Totals != want {
			t.Fatalf("workers %d: totals %+v, want %+v", workers, r.Totals, want)
		}
		var got []string
		for _, c := range r.Changes {
			got = append(got, strings.Join([]string{c.Source, c.Method, c.Path, itoa(c.AllowToDeny), c.AllowToDenyExample.Where}, " "))
			if c.DenyToAllow != 0 || c.DenyToAllowExample != nil {
				t.Errorf("deny→allow in %+v", c)
			}
		}
		wantChanges := []string{
			"default/tiefighter GET /v1/landings/{number} 10 testdata/starwars.log:2",
			"default/tiefighter GET /v1/landings/{uuid} 5 testdata/starwars.log:4",
			"default/ops GET /v1/ 4 testdata/starwars.log:6",
			"default/ops GET /v1/plans/{hash} 4 testdata/starwars.log:7",
		}
		if strings.Join(got, "\n") != strings.Join(wantChanges, "\n") {
			t.Errorf("workers %d: changes\n%s\nwant\n%s", workers, strings.Join(got, "\n"), strings.Join(wantChanges, "\n"))
		}
	}
}

func itoa(n int) string {
	return strconv.Itoa(n)
}

// TestReplayDenyToAllow: replaying a log of denies with an allow-everything
// candidate reports deny→allow and no allow→deny.
func TestReplayDenyToAllow(t *testing.T) {
	e, err := rego.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.LoadFS(context.Background(), "main", observeBundle); err != nil {
		t.Fatal(err)
	}
	r, err := replay.Run(context.Background(), e, decisionlog.Files("../decisionlog/testdata/opa-envoy-console.log"), replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := replay.Totals{Decisions: 2, Unchanged: 1, DenyToAllow: 1, Skipped: 2}
	if r.Totals != want || len(r.Changes) != 1 || r.Changes[0].Method != "POST" || r.Changes[0].DenyToAllowExample.Where != "../decisionlog/testdata/opa-envoy-console.log:4" {
		t.Fatalf("report %+v, want totals %+v and one POST change at line 4", r, want)
	}
}

func TestReplayError(t *testing.T) {
	_, err := replay.Run(context.Background(), starwarsEngine(t), decisionlog.Files("testdata/starwars.log", "../decisionlog/testdata/bad-json.log"), replay.Options{})
	if err == nil || !strings.Contains(err.Error(), "bad-json.log:3:") {
		t.Fatalf("err %v, want one naming bad-json.log:3", err)
	}
}
