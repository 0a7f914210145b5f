package rego_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/rampart-mesh/rampart/rego"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	e := newEngine(t, rego.WithMetrics(reg))
	ctx := context.Background()
	e.Decide(ctx, tiefighterLands()) // error: no bundle
	if err := e.LoadDir(ctx, "main", starwarsDir); err != nil {
		t.Fatal(err)
	}
	_ = e.LoadDir(ctx, "main", "testdata/badbundles/syntax")
	e.Decide(ctx, tiefighterLands()) // allow
	xwing := tiefighterLands()
	xwing.Source.Labels["org"] = "alliance"
	e.Decide(ctx, xwing) // deny

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"rampart_policy_decisions_total", map[string]string{"result": "allow"}, 1},
		{"rampart_policy_decisions_total", map[string]string{"result": "deny"}, 1},
		{"rampart_policy_decisions_total", map[string]string{"result": "error"}, 1},
		{"rampart_policy_decisions_total", map[string]string{"result": "dry_run_deny"}, 0},
		{"rampart_policy_evaluation_duration_seconds", nil, 3},
		{"rampart_policy_bundle_loads_total", map[string]string{"bundle": "main", "result": "success"}, 1},
		{"rampart_policy_bundle_loads_total", map[string]string{"bundle": "main", "result": "failure"}, 1},
		{"rampart_policy_bundle_active_revision", map[string]string{"bundle": "main", "revision": "starwars-v1"}, 1},
	} {
		if got, ok := value(families, c.family, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.family, c.labels, got, ok, c.want)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

// value finds one series and returns its value (a histogram's sample count).
func value(families []*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !matches(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(labels)
}
