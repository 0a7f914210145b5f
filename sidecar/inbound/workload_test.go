package inbound_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// TestLoadWorkloads: good-* files load, bad-* files are refused.
func TestLoadWorkloads(t *testing.T) {
	files, _ := filepath.Glob("testdata/workloads/*")
	if len(files) < 4 {
		t.Fatalf("only %d files", len(files))
	}
	for _, f := range files {
		w, err := inbound.LoadWorkloads(f)
		good := strings.HasPrefix(filepath.Base(f), "good")
		switch {
		case good && err != nil:
			t.Errorf("%s: %v", f, err)
		case !good && err == nil:
			t.Errorf("%s: loaded %v, want an error", f, w)
		case good:
			if _, ok := w.Workload(netip.MustParseAddr("::ffff:198.18.0.2")); !ok && strings.HasSuffix(f, ".json") {
				t.Errorf("%s: IPv4-mapped lookup failed", f)
			}
		}
	}
}

func FuzzParseWorkloads(f *testing.F) {
	files, _ := filepath.Glob("testdata/workloads/*")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := inbound.ParseWorkloads(b)
		if err != nil {
			return
		}
		for a := range w {
			if !a.IsValid() || a.Is4In6() {
				t.Fatalf("key %v not a normalized address", a)
			}
		}
	})
}
