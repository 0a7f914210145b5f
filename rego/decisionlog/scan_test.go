package decisionlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// FuzzParseLine: the fast path agrees with encoding/json on every line: same
// fields, the same raw input; and where encoding/json refuses a line the fast
// path took, the fault is inside the input, which Decode validates.
func FuzzParseLine(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		for _, l := range bytes.Split(b, []byte("\n")) {
			f.Add(l)
		}
	}
	f.Add([]byte(`{"decision_id":"a","INPUT":{},"input":{"a":1},"Rampart":{"allowed":true}}`))
	f.Add([]byte(`{"decision_id":"a","input":{"a":[1,{"b":"}"}]},"result":tru}`))
	f.Add([]byte(`{"decision_id":"a","input":tru,"input":{}}`))
	for _, s := range []string{ // Rampart's object and bundles, read without encoding/json
		`{"decision_id":"a","input":{},"rampart":{"allowed":true,"dry_run":true,"reason":"r","http_status":403}}`,
		`{"decision_id":"a","input":{},"rampart":{"Allowed":true}}`,
		`{"decision_id":"a","input":{},"rampart":{"allowed":true,"allowed":false}}`,
		`{"decision_id":"a","input":{},"rampart":{"allowed":1}}`,
		`{"decision_id":"a","input":{},"rampart":{"allowed":null,"reason":"\u00e9"}}`,
		`{"decision_id":"a","input":{},"rampart":{"allowed":true,"shadow":{"allowed":false}}}`,
		`{"decision_id":"a","input":{},"rampart":null}`,
		`{"decision_id":"a","input":{},"bundles":{"b":{"revision":"1"},"a":{"Revision":"2"}}}`,
		`{"decision_id":"a","input":{},"bundles":{"b":{"revision":"1","revision":"3"},"a":{"revision":null,"x":[1]}}}`,
		`{"decision_id":"a","input":{},"bundles":{"b":{"revision":7}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ferr := parseLine(b)
		var ref line
		rerr := json.Unmarshal(b, &ref)
		switch {
		case rerr == nil && ferr != nil:
			t.Fatalf("encoding/json reads %q, the fast path fails: %v", b, ferr)
		case rerr == nil:
			if !bytes.Equal(bytes.TrimSpace(fast.Input), bytes.TrimSpace(ref.Input)) {
				t.Fatalf("input %q, want %q", fast.Input, ref.Input)
			}
			fast.Input, ref.Input = nil, nil
			got, want := fast.rev, refRevision(ref.Bundles, ref.Revision)
			if !fast.revSet {
				got = revision(fast.Bundles, fast.Revision)
			}
			if got != want {
				t.Fatalf("%q: revision %q, encoding/json %q", b, got, want)
			}
			if fast.revSet { // the fast path read the revision, not the map
				fast.rev, fast.revSet, ref.Bundles = "", false, nil
			}
			if !reflect.DeepEqual(fast, ref) {
				t.Fatalf("fields %+v, want %+v", fast, ref)
			}
		case ferr == nil && json.Valid(fast.Input):
			t.Fatalf("the fast path took %q, which encoding/json refuses (%v) with a valid input", b, rerr)
		}
	})
}

// refRevision is revision with encoding/json only.
func refRevision(bundles map[string]json.RawMessage, legacy string) string {
	if len(bundles) == 0 {
		return legacy
	}
	names := make([]string, 0, len(bundles))
	for n := range bundles {
		names = append(names, n)
	}
	sort.Strings(names)
	var revs []string
	for _, n := range names {
		var b struct{ Revision string }
		_ = json.Unmarshal(bundles[n], &b)
		revs = append(revs, b.Revision)
	}
	return strings.Join(revs, ",")
}
