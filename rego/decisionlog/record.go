package decisionlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

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
	Rampart    *outcome                   `json:"rampart"`
	// rev is the revision of Bundles when the fast path read it (revSet) instead.
	rev    string
	revSet bool
}

// outcome is the part of Rampart's own object read here: what the proxy did.
type outcome struct {
	Allowed bool           `json:"allowed"`
	DryRun  bool           `json:"dry_run"`
	Reason  string         `json:"reason"`
	Shadow  *ShadowVerdict `json:"shadow"`
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
	r := Record{ID: l.DecisionID, Path: l.Path, Erased: l.Erased, Revision: l.rev, Time: timestamp(l.Timestamp, l.Time)}
	if !l.revSet {
		r.Revision = revision(l.Bundles, l.Revision)
	}
	if l.Rampart != nil {
		r.Allowed, r.DryRun, r.Reason, r.Shadow = l.Rampart.Allowed, l.Rampart.DryRun, l.Rampart.Reason, l.Rampart.Shadow
	} else {
		r.Allowed, r.Reason = opaOutcome(l.Result, l.Error)
	}
	return Raw{Record: r, InputJSON: l.Input}, nil
}

// parseLine decodes a line but its input, which it only delimits: the input is
// most of a line, and replay decodes each distinct input once. The fields read
// here are decoded one by one and the others (OPA's metrics, labels, ...) only
// skipped. Lines the fast path does not take (a key spelt with escapes or in
// another case, which encoding/json would match, a key given twice, a value of
// an unexpected type, or a structure error) go through encoding/json whole.
func parseLine(b []byte) (line, error) {
	var (
		l     line
		seen  uint16
		plain = true
	)
	err := topLevel(b, func(key, val []byte) {
		if !plain {
			return
		}
		f := fieldOf(key)
		switch {
		case f < 0 && !foldsToField(key):
			plain = json.Valid(val) // a field no reader here needs, checked as encoding/json would
			return
		case f < 0 || seen&(1<<f) != 0:
			plain = false
			return
		}
		seen |= 1 << f
		plain = l.set(f, val)
	})
	if err != nil || !plain {
		l = line{}
		if err := json.Unmarshal(b, &l); err != nil {
			return line{}, fmt.Errorf("decision log: %w", err)
		}
	}
	return l, nil
}

// lineFields are the keys of line, in the order set numbers them.
var lineFields = []string{"decision_id", "path", "input", "result", "error", "bundles",
	"revision", "erased", "timestamp", "time", "rampart"}

func fieldOf(key []byte) int {
	for i, f := range lineFields {
		if string(key) == f {
			return i
		}
	}
	return -1
}

// foldsToField reports a key encoding/json would match to a field of line
// (escapes, other case): the fast path leaves such a line to it.
func foldsToField(key []byte) bool {
	if bytes.IndexByte(key, '\\') >= 0 {
		return true
	}
	for _, f := range lineFields {
		if bytes.EqualFold(key, []byte(f)) {
			return true
		}
	}
	return false
}

// set decodes val into field f, reporting false when the fast path cannot.
func (l *line) set(f int, val []byte) bool {
	switch lineFields[f] {
	case "decision_id":
		return plainString(val, &l.DecisionID)
	case "path":
		return plainString(val, &l.Path)
	case "revision":
		return plainString(val, &l.Revision)
	case "timestamp":
		return plainString(val, &l.Timestamp)
	case "time":
		return plainString(val, &l.Time)
	case "input":
		l.Input = val
	case "result":
		l.Result = val
		return json.Valid(val)
	case "error":
		l.Error = val
		return json.Valid(val)
	case "bundles":
		if rev, n, ok := bundleRevision(val); ok && n > 0 {
			l.rev, l.revSet = rev, true
			return true
		}
		return l.setBundles(val) // also null and {}, which revision reads as none
	case "erased":
		return json.Unmarshal(val, &l.Erased) == nil
	case "rampart":
		return l.setRampart(val) || json.Unmarshal(val, &l.Rampart) == nil
	}
	return true
}

// plainString reads a JSON string without escapes (or null, leaving dst).
func plainString(val []byte, dst *string) bool {
	if string(val) == "null" {
		return true
	}
	// encoding/json would replace invalid UTF-8: that line takes the slow path.
	if len(val) < 2 || val[0] != '"' || bytes.IndexByte(val, '\\') >= 0 || !utf8.Valid(val) {
		return false
	}
	*dst = string(val[1 : len(val)-1])
	return true
}

func (l *line) setBundles(val []byte) bool {
	if string(val) == "null" {
		return true
	}
	ok := true
	l.Bundles = map[string]json.RawMessage{}
	err := topLevel(val, func(key, v []byte) {
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) || !json.Valid(v) {
			ok = false
		}
		l.Bundles[string(key)] = v
	})
	return ok && err == nil
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

// DecodeWith decodes the input as Decode does, with d (one per goroutine), which
// reads the usual logged inputs in one pass and shares their repeated strings.
func (r Raw) DecodeWith(d *rego.InputDecoder) (Record, error) {
	in, err := d.Decode(r.InputJSON)
	if err != nil {
		return Record{}, fmt.Errorf("decision %s: %w", r.ID, err)
	}
	rec := r.Record
	rec.Input = in
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
