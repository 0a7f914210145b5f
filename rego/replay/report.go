package replay

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

// Report is what a replay found.
type Report struct {
	Logs      []string      `json:"logs"`
	Candidate string        `json:"candidate_revision"`
	Duration  time.Duration `json:"-"`
	Totals    Totals        `json:"totals"`
	// Changes are the flows whose decisions changed, most allow→deny first.
	Changes []Change `json:"changes"`
}

// Totals count decisions over all logs.
type Totals struct {
	Decisions   int `json:"decisions"`     // decisions replayed
	Unchanged   int `json:"unchanged"`     // the candidate decided as the proxy did
	AllowToDeny int `json:"allow_to_deny"` // allowed then, denied by the candidate
	DenyToAllow int `json:"deny_to_allow"` // denied then, allowed by the candidate
	Skipped     int `json:"skipped"`       // log events that are not decisions
}

// Change is one flow whose decisions changed.
type Change struct {
	decisionlog.Flow
	AllowToDeny int `json:"allow_to_deny"`
	DenyToAllow int `json:"deny_to_allow"`
	// The first change of each direction in log order.
	AllowToDenyExample *Example `json:"allow_to_deny_example,omitempty"`
	DenyToAllowExample *Example `json:"deny_to_allow_example,omitempty"`
}

// Example points at one changed decision.
type Example struct {
	DecisionID string `json:"decision_id"`
	Where      string `json:"where"`            // file:line
	Path       string `json:"path"`             // the request path as logged
	Reason     string `json:"reason,omitempty"` // the candidate's reason, if any
	seq        int
}

// tally counts one worker's decisions.
type tally struct {
	totals  Totals
	changes map[decisionlog.Flow]*Change
	seen    map[string]seen // decisions by logged input JSON
	dec     *rego.InputDecoder
	// lookups and hits of seen in the current window, misses overall, and whether
	// the last window hit so rarely that only some inputs are remembered.
	lookups, hits, misses int
	sparse                bool
}

func newTally() *tally {
	return &tally{changes: map[decisionlog.Flow]*Change{}, seen: map[string]seen{}, dec: rego.NewInputDecoder()}
}

// add counts one replayed decision: rec as recorded, d by the candidate. A
// candidate's dry-run does not count as an allow: its policy denied.
func (t *tally) add(rec *decisionlog.Record, d rego.Decision, ev seqEvent) {
	t.totals.Decisions++
	now := d.Allowed && !d.DryRun
	if now == rec.Allowed {
		t.totals.Unchanged++
		return
	}
	f := decisionlog.FlowOf(rec.Input)
	c := t.changes[f]
	if c == nil {
		c = &Change{Flow: f}
		t.changes[f] = c
	}
	ex := &c.DenyToAllowExample
	if rec.Allowed {
		t.totals.AllowToDeny++
		c.AllowToDeny++
		ex = &c.AllowToDenyExample
	} else {
		t.totals.DenyToAllow++
		c.DenyToAllow++
	}
	if *ex == nil || ev.seq < (*ex).seq { // this worker's first in log order
		*ex = example(rec, d, ev)
	}
}

func example(rec *decisionlog.Record, d rego.Decision, ev seqEvent) *Example {
	ex := &Example{DecisionID: rec.ID, Where: fmt.Sprintf("%s:%d", ev.File, ev.Line), Reason: d.Reason, seq: ev.seq}
	if rec.Input.Request != nil {
		ex.Path = rec.Input.Request.Path
	}
	return ex
}

func earlier(a, b *Example) *Example {
	if a == nil || (b != nil && b.seq < a.seq) {
		return b
	}
	return a
}

// merge sums the workers' tallies into one report, changes sorted by allow→deny
// count, then deny→allow, then flow.
func merge(parts []*tally) *Report {
	r := &Report{Changes: []Change{}}
	all := map[decisionlog.Flow]*Change{}
	for _, p := range parts {
		r.Totals.Decisions += p.totals.Decisions
		r.Totals.Unchanged += p.totals.Unchanged
		r.Totals.AllowToDeny += p.totals.AllowToDeny
		r.Totals.DenyToAllow += p.totals.DenyToAllow
		r.Totals.Skipped += p.totals.Skipped
		for f, c := range p.changes {
			m := all[f]
			if m == nil {
				all[f] = c
				continue
			}
			m.AllowToDeny += c.AllowToDeny
			m.DenyToAllow += c.DenyToAllow
			m.AllowToDenyExample = earlier(m.AllowToDenyExample, c.AllowToDenyExample)
			m.DenyToAllowExample = earlier(m.DenyToAllowExample, c.DenyToAllowExample)
		}
	}
	for _, c := range all {
		r.Changes = append(r.Changes, *c)
	}
	slices.SortFunc(r.Changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(b.AllowToDeny, a.AllowToDeny), cmp.Compare(b.DenyToAllow, a.DenyToAllow),
			cmp.Compare(a.Source, b.Source), cmp.Compare(a.Destination, b.Destination),
			cmp.Compare(a.Method, b.Method), cmp.Compare(a.Path, b.Path))
	})
	return r
}
