package replay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
	"github.com/rampart-mesh/rampart/rego/replay"
)

// TestFastPathSameReport: the replay (parallel, each distinct input decided once)
// reports exactly what the straightforward loop does: every line parsed, decoded
// and decided one by one, in order. Over the recorded logs and a generated log
// where almost every input is distinct.
func TestFastPathSameReport(t *testing.T) {
	logs := map[string][]decisionlog.Source{
		"starwars":        decisionlog.Files("testdata/starwars.log"),
		"starwars+shadow": decisionlog.Files("testdata/starwars.log", "testdata/starwars-shadow.log", "testdata/starwars.log"),
		"opa":             decisionlog.Files("../decisionlog/testdata/opa-envoy-console.log", "../decisionlog/testdata/opa-upload.json.gz", "../decisionlog/testdata/rampart.log"),
		"generated":       {genSource(5_000, false), genSource(5_000, true)},
	}
	e := starwarsEngine(t)
	for name, srcs := range logs {
		t.Run(name, func(t *testing.T) {
			want := straightforward(t, e, srcs)
			for _, o := range []replay.Options{{}, {Workers: 3, Batch: 5}, {Workers: 1, NoReuse: true}} {
				r, err := replay.Run(context.Background(), e, srcs, o)
				if err != nil {
					t.Fatal(err)
				}
				if r.Totals != want.Totals {
					t.Fatalf("%+v: totals %+v, want %+v", o, r.Totals, want.Totals)
				}
				got := map[decisionlog.Flow]replay.Change{}
				for _, c := range r.Changes {
					got[c.Flow] = c
				}
				if len(got) == 0 && name != "opa" {
					t.Fatal("no changes: the comparison would be vacuous")
				}
				if !reflect.DeepEqual(asJSON(t, got), asJSON(t, want.changes)) {
					a, _ := json.Marshal(r.Changes)
					t.Fatalf("%+v: changes differ from the straightforward loop's:\n%s", o, a)
				}
			}
		})
	}
}

// asJSON spells each change as the report's JSON does (examples' unexported
// order fields aside).
func asJSON(t *testing.T, m map[decisionlog.Flow]replay.Change) map[decisionlog.Flow]string {
	out := map[decisionlog.Flow]string{}
	for f, c := range m {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

type reference struct {
	Totals  replay.Totals
	changes map[decisionlog.Flow]replay.Change
}

// straightforward replays srcs one line at a time, nothing remembered.
func straightforward(t *testing.T, e *rego.Engine, srcs []decisionlog.Source) reference {
	ref := reference{changes: map[decisionlog.Flow]replay.Change{}}
	err := decisionlog.ReadAll(srcs, func(ev decisionlog.Event) error {
		rec, err := decisionlog.Parse(ev.Data)
		if errors.Is(err, decisionlog.ErrNotDecision) {
			ref.Totals.Skipped++
			return nil
		}
		if err != nil {
			return err
		}
		ref.Totals.Decisions++
		d := e.Decide(context.Background(), rec.Input)
		if now := d.Allowed && !d.DryRun; now == rec.Allowed {
			ref.Totals.Unchanged++
			return nil
		}
		f := decisionlog.FlowOf(rec.Input)
		c := ref.changes[f]
		c.Flow = f
		ex := &replay.Example{DecisionID: rec.ID, Where: fmt.Sprintf("%s:%d", ev.File, ev.Line), Reason: d.Reason}
		if rec.Input.Request != nil {
			ex.Path = rec.Input.Request.Path
		}
		if rec.Allowed {
			ref.Totals.AllowToDeny++
			c.AllowToDeny++
			if c.AllowToDenyExample == nil {
				c.AllowToDenyExample = ex
			}
		} else {
			ref.Totals.DenyToAllow++
			c.DenyToAllow++
			if c.DenyToAllowExample == nil {
				c.DenyToAllowExample = ex
			}
		}
		ref.changes[f] = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
