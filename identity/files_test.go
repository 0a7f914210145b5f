package identity_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/identity"
)

func caseDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

func wantFragment(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "want"))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestBadFiles loads every case under testdata/files with NewFileSource: "good"
// loads, every other case fails with an error naming what is wrong.
func TestBadFiles(t *testing.T) {
	if *update {
		generateTestdata(t)
	}
	for _, name := range caseDirs(t, "testdata/files") {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata/files", name)
			want := wantFragment(t, dir)
			src, err := identity.NewFileSource(identity.FileOptions{Dir: dir})
			if want == "" {
				if err != nil {
					t.Fatalf("good files refused: %v", err)
				}
				src.Close()
				return
			}
			if err == nil {
				src.Close()
				t.Fatalf("accepted; want an error containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
}

// TestBadCAFiles loads every case under testdata/ca with LoadCA.
func TestBadCAFiles(t *testing.T) {
	for _, name := range caseDirs(t, "testdata/ca") {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata/ca", name)
			want := wantFragment(t, dir)
			ca, err := identity.LoadCA(dir)
			switch {
			case want == "" && err != nil:
				t.Fatalf("good CA refused: %v", err)
			case want == "" && ca.TrustDomain() != testTD:
				t.Fatalf("trust domain %q, want %q", ca.TrustDomain(), testTD)
			case want != "" && err == nil:
				t.Fatalf("accepted; want an error containing %q", want)
			case want != "" && !strings.Contains(err.Error(), want):
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
}
