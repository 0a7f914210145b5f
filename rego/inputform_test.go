package rego_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
)

// TestDecodeInput reads one request written in every accepted form: each must
// decode to the same Input as Rampart's own form, and be recognized as its form.
func TestDecodeInput(t *testing.T) {
	want := decodeFile(t, "rampart.json")
	for file, form := range map[string]rego.InputForm{
		"rampart.json":       rego.FormRampart,
		"check-request.json": rego.FormCheckRequest,
		"opa-envoy.json":     rego.FormOPAEnvoy,
		"decision-log.json":  rego.FormDecisionLog,
	} {
		t.Run(file, func(t *testing.T) {
			got := decodeFile(t, file)
			if got.Form != form {
				t.Errorf("form %q, want %q", got.Form, form)
			}
			if !reflect.DeepEqual(got.Input, want.Input) {
				a, _ := json.Marshal(got.Input)
				b, _ := json.Marshal(want.Input)
				t.Errorf("input\n got %s\nwant %s", a, b)
			}
		})
	}
	cr := decodeFile(t, "check-request.json")
	if strings.Join(cr.Dropped, ",") != "attributes.contextExtensions,attributes.request.http.id,attributes.request.http.size,attributes.request.time" {
		t.Errorf("dropped %v", cr.Dropped)
	}
}

func TestDecodeInputRefuses(t *testing.T) {
	for file, wantErr := range map[string]string{
		"bad-unknown-form.json": "matches no known form",
		"bad-label-type.json":   `attributes.source.labels["org"] is json.Number, want string`,
		"bad-raw-body.json":     "rawBody: illegal base64",
		"bad-misspelt.json":     `unknown field "lables"`,
		"bad-log-line.json":     "decision-log line: input: attributes is not an object",
	} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata/inputs", file))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rego.DecodeInput(raw); err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("error %v, want one containing %q", err, wantErr)
			}
		})
	}
}

func decodeFile(t *testing.T, name string) rego.DecodedInput {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata/inputs", name))
	if err != nil {
		t.Fatal(err)
	}
	d, err := rego.DecodeInput(raw)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// FuzzDecodeInput: any bytes either decode or fail with an error, never a panic; a
// decoded input builds a JSON-convertible value, and re-encoding a decoded input in
// Rampart's form decodes to the same input.
func FuzzDecodeInput(f *testing.F) {
	files, _ := filepath.Glob("testdata/inputs/*.json")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := rego.DecodeInput(raw)
		if err != nil {
			return
		}
		if d.Input == nil {
			t.Fatal("no error and no input")
		}
		_ = d.Input.AST()
		again, err := json.Marshal(d.Input)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		d2, err := rego.DecodeInput(again)
		if err != nil {
			t.Fatalf("re-encoded input %s does not decode: %v", again, err)
		}
		if !reflect.DeepEqual(d2.Input, d.Input) {
			t.Fatalf("round trip changed the input:\n%s", again)
		}
	})
}
