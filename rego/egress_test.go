package rego_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
)

type egressCase struct {
	Name     string `json:"name"`
	Bundle   string `json:"bundle"`
	App      string `json:"app"`
	Host     string `json:"host"`
	Enforced bool   `json:"enforced"`
	Allowed  bool   `json:"allowed"`
	Body     string `json:"body"`
	Reason   string `json:"reason"`
}

// TestEgress decides testdata/egress_cases.json: whether egress is enforced for
// the source, and the decision, its deny body and its decision-log line.
func TestEgress(t *testing.T) {
	b, err := os.ReadFile("testdata/egress_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []egressCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var log bytes.Buffer
			e, err := rego.New(rego.WithDecisionLog(&log))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := e.LoadDir(ctx, "main", filepath.Join("testdata/bundles", c.Bundle)); err != nil {
				t.Fatal(err)
			}
			src := rego.EgressSource{Principal: "spiffe://cluster.local/ns/default/sa/" + c.App,
				Namespace: "default", Labels: map[string]string{"app": c.App}}
			if got := e.EgressEnforced(ctx, src); got != c.Enforced {
				t.Fatalf("EgressEnforced = %v, want %v", got, c.Enforced)
			}
			if !c.Enforced {
				return
			}
			in := &rego.EgressInput{Source: src, Destination: rego.EgressDestination{
				Host: c.Host, SNI: c.Host, IP: "198.19.0.10", Port: 443, Protocol: "tls"}}
			d := e.DecideEgress(ctx, in)
			if d.Allowed != c.Allowed || (c.Body != "" && d.Body != c.Body) ||
				!strings.Contains(d.Reason, c.Reason) {
				t.Fatalf("decision %+v, want allowed=%v body=%q reason~%q", d, c.Allowed, c.Body, c.Reason)
			}
			var entry struct {
				ID    string `json:"decision_id"`
				Path  string `json:"path"`
				Input struct {
					Destination map[string]any `json:"destination"`
					Source      map[string]any `json:"source"`
				} `json:"input"`
				Rampart struct {
					Allowed bool `json:"allowed"`
				} `json:"rampart"`
			}
			if err := json.Unmarshal(log.Bytes(), &entry); err != nil {
				t.Fatalf("decision log %q: %v", log.String(), err)
			}
			if entry.Path != "rampart/egress/allow" || entry.ID != d.ID || entry.Rampart.Allowed != d.Allowed ||
				entry.Input.Source["namespace"] != "default" || entry.Input.Destination["port"] != 443.0 {
				t.Errorf("decision log %s", log.String())
			}
			if h, ok := entry.Input.Destination["host"]; c.Host != "" && h != c.Host || c.Host == "" && ok {
				t.Errorf("decision log host %v, want %q (absent when empty)", h, c.Host)
			}
		})
	}
}

// TestEgressNoBundle: with nothing loaded egress is undecided, and a decision
// asked for anyway denies.
func TestEgressNoBundle(t *testing.T) {
	e, err := rego.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if e.EgressEnforced(ctx, rego.EgressSource{}) {
		t.Fatal("enforced with no bundle")
	}
	if d := e.DecideEgress(ctx, &rego.EgressInput{}); d.Allowed {
		t.Fatal("allowed with no bundle")
	}
}
