package rego_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

// TestShadow: the active Star Wars policy is enforced while an allow-everything
// candidate decides beside it; each disagreement is counted by direction, logged,
// and in the decision log where decisionlog reads it back.
func TestShadow(t *testing.T) {
	ctx := context.Background()
	shadow := newEngine(t)
	if err := shadow.LoadFS(ctx, "main", fstest.MapFS{
		".manifest": {Data: []byte(`{"revision": "candidate", "roots": ["rampart"]}`)},
		"open.rego": {Data: []byte("package rampart.authz\n\nallow if input.attributes.request.http.method != \"DELETE\"\n")},
	}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	var declog, logs bytes.Buffer
	e := newEngine(t, rego.WithShadow(shadow), rego.WithMetrics(reg), rego.WithDecisionLog(&declog),
		rego.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := e.LoadDir(ctx, "main", starwarsDir); err != nil {
		t.Fatal(err)
	}
	exhaust := tiefighterLands()
	exhaust.Request.Method, exhaust.Request.Path = "PUT", "/v1/exhaust-port"
	deleteLanding := tiefighterLands()
	deleteLanding.Request.Method = "DELETE"
	for _, c := range []struct {
		in             *rego.Input
		active, shadow bool
	}{
		{tiefighterLands(), true, true},
		{exhaust, false, true},        // deny_to_allow
		{deleteLanding, false, false}, // agree
	} {
		d := e.Decide(ctx, c.in)
		if d.Allowed != c.active || d.Shadow == nil || d.Shadow.Allowed != c.shadow || d.Shadow.Revision != "candidate" {
			t.Errorf("%s %s: allowed %v shadow %+v, want %v and %v", c.in.Request.Method, c.in.Request.Path, d.Allowed, d.Shadow, c.active, c.shadow)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]float64{"deny_to_allow": 1, "allow_to_deny": 0} {
		if got, _ := value(families, "rampart_policy_shadow_disagreements_total", map[string]string{"direction": dir}); got != want {
			t.Errorf("disagreements{%s} = %v, want %v", dir, got, want)
		}
	}
	if !strings.Contains(logs.String(), "shadow bundle disagrees") || !strings.Contains(logs.String(), "path=/v1/exhaust-port") {
		t.Errorf("log lacks the disagreement:\n%s", logs.String())
	}
	var shadows []bool
	if _, err := decisionlog.Each([]decisionlog.Source{{Name: "declog", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(declog.Bytes())), nil
	}}}, func(r decisionlog.Record, _ decisionlog.Event) error {
		shadows = append(shadows, r.Shadow != nil && r.Shadow.Allowed)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(shadows) != 3 || !shadows[1] || shadows[2] {
		t.Errorf("shadow verdicts read back %v, want [true true false]", shadows)
	}
}
