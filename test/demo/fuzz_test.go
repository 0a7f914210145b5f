package demo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/test/demo"
)

// FuzzParseDecision: any line either parses or errors, never panics, and a parsed
// decision keeps the line it came from.
func FuzzParseDecision(f *testing.F) {
	lines, _ := filepath.Glob("testdata/decisions/*.line")
	for _, p := range lines {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, line string) {
		d, err := demo.ParseDecision(line)
		if err == nil && d.Raw != line {
			t.Fatalf("raw %q, want %q", d.Raw, line)
		}
	})
}

// FuzzParseMetrics: any text either parses or errors, never panics.
func FuzzParseMetrics(f *testing.F) {
	files, _ := filepath.Glob("testdata/metrics/*.txt")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		m, err := demo.ParseMetrics(strings.NewReader(text))
		if err == nil && m == nil {
			t.Fatal("nil metrics without an error")
		}
	})
}
