package rego_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
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
				!maps.Equal(headerMap(got.Headers), w.Headers) || (w.Revision != "" && got.Revision != w.Revision) {
				t.Errorf("Decide = %+v\nwant    %+v", got, w)
			}
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
