package rego_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	opa "github.com/open-policy-agent/opa/v1/rego"

	"github.com/rampart-mesh/rampart/rego"
)

// compatDifferences are the cases where Rampart decides differently from OPA-Envoy
// on purpose, with the reason (also in the package doc under "OPA-Envoy"). Any other
// disagreement fails TestOPAEnvoyCompat.
var compatDifferences = map[string]string{
	"body/problem-plus-json": "Rampart parses any +json media type; OPA-Envoy only those containing application/json (parsed_body null)",
}

// compatCase is one Envoy CheckRequest (proto JSON) of testdata/compat/*/cases.json.
type compatCase struct {
	Name         string         `json:"name"`
	CheckRequest map[string]any `json:"check_request"`
}

// TestOPAEnvoyCompat decides every CheckRequest of testdata/compat with Rampart's
// engine (the CheckRequest read by DecodeInput, as `rampart policy eval` does) and
// with OPA's own rego package fed the input exactly as OPA-Envoy builds it from the
// same CheckRequest (envoyInput, written from OPA-Envoy's envoyauth behaviour), and
// compares the outcomes as the proxy and Envoy would apply them: allowed, the deny
// status, body and headers, and every allow-side change. Errors on either side are
// denies (Envoy denies when the Check fails).
func TestOPAEnvoyCompat(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/compat/*")
	if len(dirs) < 4 {
		t.Fatalf("compat policies: %v", dirs)
	}
	ctx := context.Background()
	total, differ := 0, 0
	for _, dir := range dirs {
		policy := filepath.Base(dir)
		e := newEngine(t, rego.WithDecision("envoy/authz/allow"), rego.WithRequestBody(0))
		if err := e.LoadDir(ctx, "main", filepath.Join(dir, "policy")); err != nil {
			t.Fatal(err)
		}
		pq, err := opa.New(opa.Query("data.envoy.authz.allow"), opa.Load([]string{filepath.Join(dir, "policy")}, nil)).PrepareForEval(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range readCompatCases(t, dir) {
			name := policy + "/" + c.Name
			t.Run(name, func(t *testing.T) {
				total++
				raw, _ := json.Marshal(c.CheckRequest)
				d, err := rego.DecodeInput(raw)
				if err != nil {
					t.Fatal(err)
				}
				got := fromDecision(e.Decide(ctx, d.Input))
				want := opaEnvoyDecide(ctx, pq, c.CheckRequest)
				if diff := got.diff(want); diff != "" {
					if why, ok := compatDifferences[name]; ok {
						differ++
						t.Logf("documented difference (%s): %s", why, diff)
						return
					}
					t.Errorf("Rampart and OPA-Envoy disagree: %s\nRampart:   %+v\nOPA-Envoy: %+v", diff, got, want)
				} else if _, ok := compatDifferences[name]; ok {
					t.Errorf("listed as a difference, but both decide %+v", got)
				}
			})
		}
	}
	t.Logf("%d cases, %d documented differences", total, differ)
}

func readCompatCases(t *testing.T, dir string) []compatCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs []compatCase
	if err := json.Unmarshal(raw, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

// outcome is a decision as applied on the wire.
type outcome struct {
	Failed  bool // an error: Envoy and Rampart deny (status not compared)
	Allowed bool
	Status  int
	Body    *string // compared only when OPA-Envoy's decision set one
	Fields  []string
	Meta    string
}

func fromDecision(d rego.Decision) outcome {
	o := outcome{Allowed: d.Allowed}
	for _, p := range []string{rego.ErrBadInput.Error(), rego.ErrBadDecision.Error(), "evaluation error", rego.ErrUndefined.Error()} {
		if strings.HasPrefix(d.Reason, p) {
			return outcome{Failed: true}
		}
	}
	if !d.Allowed {
		o.Status, o.Body = d.HTTPStatus, &d.Body
	}
	add := func(kind string, fs []rego.Field) {
		for _, f := range fs {
			o.Fields = append(o.Fields, kind+" "+f.Name+": "+f.Value)
		}
	}
	add("header", d.Headers)
	add("response-header", d.ResponseHeadersToAdd)
	add("query-set", d.QueryParametersToSet)
	for _, h := range d.RequestHeadersToRemove {
		o.Fields = append(o.Fields, "header-remove "+h)
	}
	for _, q := range d.QueryParametersToRemove {
		o.Fields = append(o.Fields, "query-remove "+q)
	}
	sort.Strings(o.Fields)
	if d.DynamicMetadata != nil {
		b, _ := json.Marshal(d.DynamicMetadata)
		o.Meta = string(b)
	}
	return o
}

func (o outcome) diff(w outcome) string {
	switch {
	case o.Failed || w.Failed:
		if o.Failed != w.Failed || o.Allowed || w.Allowed {
			return "one side failed, the other decided"
		}
		return ""
	case o.Allowed != w.Allowed:
		return "allowed"
	case !o.Allowed && o.Status != w.Status:
		return "status"
	case !o.Allowed && w.Body != nil && (o.Body == nil || *o.Body != *w.Body):
		return "body"
	case strings.Join(o.Fields, "\n") != strings.Join(w.Fields, "\n"):
		return "headers or query changes"
	case o.Meta != w.Meta:
		return "dynamic_metadata"
	}
	return ""
}

// opaEnvoyDecide evaluates the decision as OPA-Envoy's Check does, and reads it the
// way OPA-Envoy's EvalResult getters do.
func opaEnvoyDecide(ctx context.Context, pq opa.PreparedEvalQuery, cr map[string]any) outcome {
	input, err := envoyInput(cr)
	if err != nil {
		return outcome{Failed: true}
	}
	rs, err := pq.Eval(ctx, opa.EvalInput(input))
	if err != nil || len(rs) == 0 {
		return outcome{Failed: true} // an undefined decision is an error in OPA-Envoy
	}
	o, err := readEnvoyDecision(rs[0].Expressions[0].Value)
	if err != nil {
		return outcome{Failed: true}
	}
	return o
}
