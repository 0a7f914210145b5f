package decisionlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
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
			if !reflect.DeepEqual(fast, ref) {
				t.Fatalf("fields %+v, want %+v", fast, ref)
			}
		case ferr == nil && json.Valid(fast.Input):
			t.Fatalf("the fast path took %q, which encoding/json refuses (%v) with a valid input", b, rerr)
		}
	})
}
