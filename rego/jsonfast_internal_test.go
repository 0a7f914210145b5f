package rego

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzFastJSON: whatever parseJSONFast takes, encoding/json (Decoder, UseNumber,
// no trailing data) takes too and reads as the same value.
func FuzzFastJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/inputs/*.json")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{`{"a":"\u00e9\n\"x\\/"}`, `[1,-0.5e+3,true,null,{}]`, `"\ud83d\ude00"`, `{"a":1,"a":2}`,
		`01`, `1.`, `-`, `"a` + "\xff" + `"`, `{"a":[]} x`, ` {"b" : [ "c" , 2 ] } `, `"\u12"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := parseJSONFast(raw)
		if !ok {
			return
		}
		var slow any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&slow); err != nil {
			t.Fatalf("%q: fast path took what encoding/json refuses: %v", raw, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("%q: fast path took trailing data", raw)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %#v, encoding/json %#v", raw, fast, slow)
		}
	})
}

// TestFastJSONTakesLoggedInputs: the inputs of the logs replay reads take the
// fast path (else it would only be a slower route to the same result).
func TestFastJSONTakesLoggedInputs(t *testing.T) {
	files, _ := filepath.Glob("testdata/inputs/*.json")
	taken := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := parseJSONFast(raw); ok {
			taken++
		}
	}
	if len(files) == 0 || taken < len(files)*3/4 {
		t.Errorf("fast path took %d of %d inputs", taken, len(files))
	}
}

// BenchmarkDecodeLoggedInput decodes the input of a logged decision, as replay
// does for each distinct input.
func BenchmarkDecodeLoggedInput(b *testing.B) {
	raw, err := os.ReadFile("replay/testdata/starwars.log")
	if err != nil {
		b.Fatal(err)
	}
	var line struct {
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(bytes.SplitN(raw, []byte("\n"), 2)[0], &line); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeInput(line.Input); err != nil {
			b.Fatal(err)
		}
	}
}
