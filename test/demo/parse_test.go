package demo_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/test/demo"
)

// decisionWant is a testdata/decisions/*.want file: the fields ParseDecision must
// return, or the start of its error.
type decisionWant struct {
	ID, Source, Method, Path, Reason, Revision string
	Labels                                     map[string]string
	Allowed                                    bool
	Error                                      string
}

func TestParseDecision(t *testing.T) {
	lines, _ := filepath.Glob("testdata/decisions/*.line")
	if len(lines) < 5 {
		t.Fatalf("only %d cases in testdata/decisions", len(lines))
	}
	for _, path := range lines {
		t.Run(filepath.Base(path), func(t *testing.T) {
			line, want := readCase(t, path)
			d, err := demo.ParseDecision(line)
			if want.Error != "" {
				if err == nil || !strings.Contains(err.Error(), want.Error) {
					t.Fatalf("error %v, want one containing %q", err, want.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := decisionWant{ID: d.ID, Source: d.Source, Method: d.Method, Path: d.Path, Reason: d.Reason,
				Revision: d.Revision(), Labels: d.Labels, Allowed: d.Allowed}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			if d.Time.IsZero() || d.Raw != line {
				t.Errorf("time %v, raw %q", d.Time, d.Raw)
			}
		})
	}
}

func readCase(t *testing.T, path string) (string, decisionWant) {
	t.Helper()
	line, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(strings.TrimSuffix(path, ".line") + ".want")
	if err != nil {
		t.Fatal(err)
	}
	var want decisionWant
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(line)), want
}

func TestParseMetrics(t *testing.T) {
	f, err := os.Open("testdata/metrics/proxy.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := demo.ParseMetrics(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"rampart_policy_decisions_total", []string{`result="allow"`}, 39},
		{"rampart_policy_decisions_total", nil, 69},
		{"rampart_connections_total", []string{`direction="outbound"`}, 140},
		{"rampart_connections_total", []string{`direction="outbound"`, `kind="hbone"`}, 136},
		{"rampart_connections_total", []string{`direction="inbound"`}, 0},
		{"go_memstats_alloc_bytes", nil, 4.2e6},
		{"rampart_policy_evaluation_duration_seconds", nil, 0}, // only _bucket and _sum exist
	} {
		if got := m.Sum(c.name, c.labels...); got != c.want {
			t.Errorf("Sum(%s, %v) = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestParseMetricsRefusesBadValues(t *testing.T) {
	f, err := os.Open("testdata/metrics/bad-value.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := demo.ParseMetrics(f); err == nil {
		t.Fatal("a sample with a non-numeric value was accepted")
	}
}
