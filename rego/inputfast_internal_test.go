package rego

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// loggedInputs returns the inputs of every decision in the decision logs under
// testdata (this package's and its subpackages'), as logged.
func loggedInputs(t testing.TB) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob("*/testdata/*.log*")
	gz, _ := filepath.Glob("*/testdata/*.json.gz")
	for _, file := range append(files, gz...) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if raw, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		// JSON lines or arrays of events; lines that are not JSON are skipped.
		dec := json.NewDecoder(bytes.NewReader(raw))
		for {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				break
			}
			var events []map[string]json.RawMessage
			if json.Unmarshal(v, &events) != nil {
				var ev map[string]json.RawMessage
				_ = json.Unmarshal(v, &ev)
				events = append(events, ev)
			}
			for _, ev := range events {
				if ev["input"] != nil && ev["decision_id"] != nil {
					out = append(out, ev["input"])
				}
			}
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d logged inputs under */testdata", len(out))
	}
	return out
}

// inputVariants are Envoy-shaped inputs with what the fast path must read as
// DecodeInput does, or leave to it.
var inputVariants = []string{
	`{"attributes":{}}`,
	`{"attributes":null}`,
	`{"attributes":{"request":{"http":{}}}}`,
	`{"attributes":{"request":{"http":{}}},"parsed_path":["a"]}`,
	`{"attributes":{"request":{"http":{"body":null}}},"parsed_body":null}`,
	`{"attributes":{"request":{"http":{"body":"x","headers":{"x-envoy-auth-partial-body":"true"}}}}}`,
	`{"attributes":{"request":{"http":{"rawBody":"eA=="}}}}`,
	`{"attributes":{"request":null,"source":null,"destination":{"address":null}}}`,
	`{"attributes":{"source":{"address":{"socketAddress":{"address":"::1","portValue":80}}}}}`,
	`{"attributes":{"source":{"address":{"socketAddress":{"address":"a"}}}}}`,
	`{"attributes":{"source":{"address":{"socketAddress":null,"socket_address":{"address":"b","port_value":"9"}}}}}`,
	`{"attributes":{"source":{"address":{"socket_address":{"address":"b","port_value":9,"portValue":null}}}}}`,
	`{"attributes":{"source":{"address":{"socketAddress":{"address":"a","portValue":1e3,"protocol":"TCP"}}}}}`,
	`{"attributes":{"source":{"address":{"socketAddress":{"address":"a","portValue":true}}}}}`,
	`{"attributes":{"source":{"labels":{"App":"x"}}}}`,
	`{"attributes":{"source":{"labels":{"app":"x","app":"y"}}}}`,
	`{"attributes":{"source":{"labels":{"app":null}}}}`,
	`{"attributes":{"source":{"labels":{}},"destination":{"labels":{"a":"\u00e9\n"}}}}`,
	`{"attributes":{"source":{"principal":"a","principal":"b"}}}`,
	`{"attributes":{"source":{"\u0070rincipal":"a"}}}`,
	`{"attributes":{"source":{"principal":"` + "\xff" + `"}}}`,
	`{"attributes":{},"truncated_body":true}`,
	`{"attributes":{"request":{"http":{}}},"truncated_body":1}`,
	`{"attributes":{"request":{"http":{}}},"truncated_body":false,"other":[1,{"a":[]},"\ud800"]}`,
	`{"attributes":{},"decision_id":"x","input":{}}`,
	`{"attributes":{}} x`,
	`{"attributes":{}}` + " \n",
	`{"attributes":{"x":01}}`,
	`[{"attributes":{}}]`,
	`{"source":{},"destination":{},"request":null}`,
}

// FuzzInputDecoder: whatever InputDecoder's one-pass reading takes, DecodeInput
// takes too and reads as the same input; what it leaves, Decode still decodes as
// DecodeInput does.
func FuzzInputDecoder(f *testing.F) {
	for _, raw := range loggedInputs(f) {
		f.Add(raw)
	}
	for _, s := range inputVariants {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/inputs/*.json")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	d := NewInputDecoder()
	f.Fuzz(func(t *testing.T, raw []byte) {
		slow, slowErr := DecodeInput(raw)
		fast, ok := d.fast(raw)
		if ok && slowErr != nil {
			t.Fatalf("%q: fast path took an input DecodeInput refuses: %v", raw, slowErr)
		}
		if ok && !reflect.DeepEqual(fast, slow.Input) {
			t.Fatalf("%q: fast path read\n%#v\nDecodeInput read\n%#v", raw, fast, slow.Input)
		}
		got, err := d.Decode(raw)
		if (err != nil) != (slowErr != nil) || err == nil && !reflect.DeepEqual(got, slow.Input) {
			t.Fatalf("%q: Decode gave %#v, %v; DecodeInput %#v, %v", raw, got, err, slow.Input, slowErr)
		}
	})
}

// TestInputDecoderFastPath: every logged Envoy-shaped input under testdata is
// read by the one-pass path (a replay of such logs never falls back), as DecodeInput reads it.
func TestInputDecoderFastPath(t *testing.T) {
	d := NewInputDecoder()
	taken := 0
	for _, raw := range loggedInputs(t) {
		slow, err := DecodeInput(raw)
		if err != nil || slow.Form == FormRampart || slow.Form == FormDecisionLog {
			continue // bad inputs and other forms: DecodeInput's
		}
		fast, ok := d.fast(raw)
		if !ok {
			t.Errorf("fast path left a logged input to DecodeInput: %s", raw)
			continue
		}
		taken++
		if !reflect.DeepEqual(fast, slow.Input) {
			t.Errorf("%s: fast %#v, DecodeInput %#v", raw, fast, slow.Input)
		}
	}
	if taken < 50 {
		t.Errorf("fast path took only %d logged inputs", taken)
	}
	for _, s := range inputVariants {
		fast, ok := d.fast([]byte(s))
		slow, err := DecodeInput([]byte(s))
		if ok && (err != nil || !reflect.DeepEqual(fast, slow.Input)) {
			t.Errorf("%s: fast %#v, DecodeInput %#v (%v)", s, fast, slow.Input, err)
		}
	}
}
