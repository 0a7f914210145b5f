package rego_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
)

// decideCase is one file in testdata/cases: a bundle, engine options, an input and
// the decision expected for it.
type decideCase struct {
	Bundle   string     `json:"bundle"` // directory, relative to this package; "" loads nothing
	Decision string     `json:"decision"`
	Timeout  string     `json:"timeout"`
	DryRun   bool       `json:"dry_run"`
	Input    rego.Input `json:"input"`
	Want     struct {
		Allowed    bool              `json:"allowed"`
		HTTPStatus int               `json:"http_status"`
		Body       string            `json:"body"`
		Headers    map[string]string `json:"headers"`
		Reason     string            `json:"reason"` // substring of Decision.Reason
		Revision   string            `json:"revision"`
		DryRun     bool              `json:"dry_run"`
		// Compared only when present: every field in order, as the decision has them.
		HeaderList              []rego.Field   `json:"header_list"`
		RequestHeadersToRemove  []string       `json:"request_headers_to_remove"`
		ResponseHeadersToAdd    []rego.Field   `json:"response_headers_to_add"`
		QueryParametersToSet    []rego.Field   `json:"query_parameters_to_set"`
		QueryParametersToRemove []string       `json:"query_parameters_to_remove"`
		DynamicMetadata         map[string]any `json:"dynamic_metadata"`
	} `json:"want"`
}

func TestDecide(t *testing.T) {
	files, _ := filepath.Glob("testdata/cases/*.json")
	if len(files) == 0 {
		t.Fatal("no cases in testdata/cases")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			t.Parallel()
			c := readCase(t, file)
			e := newCaseEngine(t, c)
			got := e.Decide(context.Background(), &c.Input)
			w := c.Want
			if got.Allowed != w.Allowed || got.HTTPStatus != w.HTTPStatus || got.Body != w.Body ||
				got.DryRun != w.DryRun || !strings.Contains(got.Reason, w.Reason) ||
				(w.HeaderList == nil && !maps.Equal(headerMap(got.Headers), w.Headers)) || (w.Revision != "" && got.Revision != w.Revision) {
				t.Errorf("Decide = %+v\nwant    %+v", got, w)
			}
			checkChanges(t, got, &c)
			if got.ID == "" {
				t.Error("decision has no ID")
			}
		})
	}
}

func readCase(t testing.TB, file string) decideCase {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c decideCase
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

func newCaseEngine(t *testing.T, c decideCase) *rego.Engine {
	t.Helper()
	opts := []rego.Option{rego.WithDecision(c.Decision), rego.WithDryRun(c.DryRun)}
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, rego.WithTimeout(d))
	}
	e, err := rego.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if c.Bundle != "" {
		if err := e.LoadDir(context.Background(), "main", c.Bundle); err != nil {
			t.Fatalf("load %s: %v", c.Bundle, err)
		}
	}
	if e.Ready() != (c.Bundle != "") {
		t.Fatalf("Ready() = %v with bundle %q", e.Ready(), c.Bundle)
	}
	return e
}

// checkChanges compares the allow-side fields a case names.
func checkChanges(t *testing.T, got rego.Decision, c *decideCase) {
	t.Helper()
	w := c.Want
	same := func(name string, want, have any) {
		w, h := reflect.ValueOf(want), reflect.ValueOf(have)
		if !w.IsNil() && !(w.Len() == 0 && h.Len() == 0) && !reflect.DeepEqual(want, have) {
			t.Errorf("%s = %v, want %v", name, have, want)
		}
	}
	same("headers", w.HeaderList, got.Headers)
	same("request_headers_to_remove", w.RequestHeadersToRemove, got.RequestHeadersToRemove)
	same("response_headers_to_add", w.ResponseHeadersToAdd, got.ResponseHeadersToAdd)
	same("query_parameters_to_set", w.QueryParametersToSet, got.QueryParametersToSet)
	same("query_parameters_to_remove", w.QueryParametersToRemove, got.QueryParametersToRemove)
	if w.DynamicMetadata != nil {
		a, _ := json.Marshal(w.DynamicMetadata)
		b, _ := json.Marshal(got.DynamicMetadata)
		if string(a) != string(b) {
			t.Errorf("dynamic_metadata = %s, want %s", b, a)
		}
	}
}

// headerMap flattens fields for comparison with a case's want (one value a name).
func headerMap(fs []rego.Field) map[string]string {
	if len(fs) == 0 {
		return nil
	}
	m := make(map[string]string, len(fs))
	for _, f := range fs {
		m[f.Name] = f.Value
	}
	return m
}
