package rego

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzEnvoyDoc: DecodeInput's one-pass decode takes exactly the JSON that the
// two-pass route (json.Unmarshal into raw members, then a json.Number decode)
// sends to decodeEnvoy, and reads the same document.
func FuzzEnvoyDoc(f *testing.F) {
	files, _ := filepath.Glob("testdata/inputs/*.json")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"attributes":{}} x`))
	f.Add([]byte(`{"attributes":null,"decision_id":1,"input":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := envoyDoc(raw)
		var top map[string]json.RawMessage
		want := json.Unmarshal(raw, &top) == nil && top["attributes"] != nil &&
			(top["decision_id"] == nil || top["input"] == nil)
		if ok != want {
			t.Fatalf("%q: one pass takes it %v, two passes %v", raw, ok, want)
		}
		if !ok {
			return
		}
		var slow map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&slow); err != nil {
			t.Fatalf("%q: second pass: %v", raw, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: documents differ", raw)
		}
	})
}
