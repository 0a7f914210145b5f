package decisionlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/rego"
)

// Record is one decision read back from a log.
type Record struct {
	ID   string    // decision_id
	Time time.Time // timestamp ("" in the log: zero)
	// Path is the decision path as logged (rampart/authz/allow, envoy/authz/allow).
	Path string
	// Input is the logged input, decoded as `rampart policy eval` decodes it.
	Input *rego.Input
	// Allowed is what the proxy did: true when the request went through, also when
	// dry-run let a deny through (DryRun).
	Allowed bool
	// DryRun: the recorded policy denied, dry-run let the request through.
	DryRun bool
	// Reason is the logged reason (Rampart) or error (OPA), if any.
	Reason string
	// Revision joins the logged bundle revisions, sorted by bundle name.
	Revision string
	// Erased lists the input fields masked when logged (OPA's erased paths): a
	// policy replayed over this record sees them absent.
	Erased []string
	// Shadow is the shadow bundle's verdict when the proxy ran one: nil otherwise.
	Shadow *ShadowVerdict
}

// ShadowVerdict is what a candidate bundle run beside the active one decided.
type ShadowVerdict = rego.ShadowVerdict

// line is the part of a decision-log event read here: OPA's fields, OPA's console
// logger's additions, and Rampart's own object.
type line struct {
	DecisionID string                     `json:"decision_id"`
	Path       string                     `json:"path"`
	Input      json.RawMessage            `json:"input"`
	Result     json.RawMessage            `json:"result"`
	Error      json.RawMessage            `json:"error"`
	Bundles    map[string]json.RawMessage `json:"bundles"`
	Revision   string                     `json:"revision"` // OPA before bundles
	Erased     []string                   `json:"erased"`
	Timestamp  string                     `json:"timestamp"`
	Time       string                     `json:"time"` // OPA's console logger
	Rampart    *struct {
		Allowed bool           `json:"allowed"`
		DryRun  bool           `json:"dry_run"`
		Reason  string         `json:"reason"`
		Shadow  *ShadowVerdict `json:"shadow"`
	} `json:"rampart"`
}

// ErrNotDecision says a JSON object is not a decision-log event (no decision_id or
// no input): OPA's console logs mix other lines in, which readers skip.
var ErrNotDecision = errors.New("not a decision-log event: no decision_id and input")

// Parse reads one decision-log event. Lines that are not decision events return
// ErrNotDecision; a decision whose input cannot be decoded is an error.
func Parse(b []byte) (Record, error) {
	r, err := ParseRaw(b)
	if err != nil {
		return Record{}, err
	}
	return r.Decode()
}

// Raw is a decision read from a log with its input still JSON: readers that see
// the same input many times (replay) decode it once.
type Raw struct {
	Record           // all but Input
	InputJSON []byte // the logged input, as logged
}

// ParseRaw reads one decision-log event but its input. Lines that are not decision
// events return ErrNotDecision.
func ParseRaw(b []byte) (Raw, error) {
	l, err := parseLine(b)
	if err != nil {
		return Raw{}, err
	}
	if l.DecisionID == "" || len(l.Input) == 0 || bytes.Equal(l.Input, []byte("null")) {
		return Raw{}, ErrNotDecision
	}
	r := Record{ID: l.DecisionID, Path: l.Path, Erased: l.Erased,
		Revision: revision(l.Bundles, l.Revision), Time: timestamp(l.Timestamp, l.Time)}
	if l.Rampart != nil {
		r.Allowed, r.DryRun, r.Reason, r.Shadow = l.Rampart.Allowed, l.Rampart.DryRun, l.Rampart.Reason, l.Rampart.Shadow
	} else {
		r.Allowed, r.Reason = opaOutcome(l.Result, l.Error)
	}
	return Raw{Record: r, InputJSON: l.Input}, nil
}

// parseLine decodes a line but its input, which it only delimits: the input is
// most of a line, and replay decodes each distinct input once. Lines the fast
// path does not take (a key spelt with escapes or another case, which
// encoding/json would match, or a structure error) go through encoding/json.
func parseLine(b []byte) (line, error) {
	var (
		l     line
		input []byte
		rest  = make([]byte, 0, 512)
		plain = true
	)
	err := topLevel(b, func(key, val []byte) {
		switch {
		case string(key) == "input" && input == nil:
			input = val
			return
		case bytes.IndexByte(key, '\\') >= 0 || bytes.EqualFold(key, []byte("input")): // also a second "input"
			plain = false
		}
		if len(rest) == 0 {
			rest = append(rest, '{')
		} else {
			rest = append(rest, ',')
		}
		rest = append(append(append(append(rest, '"'), key...), '"', ':'), val...)
	})
	if err != nil || !plain {
		if err := json.Unmarshal(b, &l); err != nil {
			return line{}, fmt.Errorf("decision log: %w", err)
		}
		return l, nil
	}
	if len(rest) > 0 {
		if err := json.Unmarshal(append(rest, '}'), &l); err != nil {
			return line{}, fmt.Errorf("decision log: %w", err)
		}
	}
	l.Input = input
	return l, nil
}

// Decode decodes the input, as `rampart policy eval` decodes one.
func (r Raw) Decode() (Record, error) {
	d, err := rego.DecodeInput(r.InputJSON)
	if err != nil {
		return Record{}, fmt.Errorf("decision %s: %w", r.ID, err)
	}
	rec := r.Record
	rec.Input = d.Input
	return rec, nil
}

// opaOutcome reads an OPA-Envoy decision: a boolean, or an object whose "allowed"
// says it; an error, no result or anything else is a deny, as OPA-Envoy does.
func opaOutcome(result, errField json.RawMessage) (bool, string) {
	if len(errField) > 0 && !bytes.Equal(errField, []byte("null")) {
		var e struct{ Message string }
		if json.Unmarshal(errField, &e) == nil && e.Message != "" {
			return false, e.Message
		}
		var s string
		if json.Unmarshal(errField, &s) == nil {
			return false, s
		}
		return false, string(errField)
	}
	var b bool
	if json.Unmarshal(result, &b) == nil {
		return b, ""
	}
	var obj struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
	}
	if json.Unmarshal(result, &obj) == nil {
		return obj.Allowed, obj.Reason
	}
	return false, "no result"
}

func revision(bundles map[string]json.RawMessage, legacy string) string {
	if len(bundles) == 0 {
		return legacy
	}
	names := make([]string, 0, len(bundles))
	for n := range bundles {
		names = append(names, n)
	}
	sort.Strings(names)
	revs := make([]string, 0, len(names))
	for _, n := range names {
		var b struct{ Revision string }
		_ = json.Unmarshal(bundles[n], &b)
		revs = append(revs, b.Revision)
	}
	return strings.Join(revs, ",")
}

func timestamp(vals ...string) time.Time {
	for _, v := range vals {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	return time.Time{}
}
