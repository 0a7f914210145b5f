package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/redirect/agent"
)

// TestCgroup2Root reads the mountinfo files in testdata/mountinfo (hosts, and
// rampart-node's container on hybrid and pure v2 nodes): the first line names the
// cgroup2 mount rampart-node must use ("# want: <path>" or "# want: error").
func TestCgroup2Root(t *testing.T) {
	files, _ := filepath.Glob("testdata/mountinfo/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata/mountinfo/*.txt")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(b), "\n")
			want := strings.TrimPrefix(first, "# want: ")
			got, err := agent.Cgroup2Root(f)
			if want == "error" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != want {
				t.Fatalf("got %q, %v; want %q", got, err, want)
			}
		})
	}
}

// FuzzCgroup2Root: any mountinfo text either names an absolute mount point or errs.
func FuzzCgroup2Root(f *testing.F) {
	files, _ := filepath.Glob("testdata/mountinfo/*.txt")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(string(b))
	}
	path := filepath.Join(f.TempDir(), "mountinfo")
	f.Fuzz(func(t *testing.T, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := agent.Cgroup2Root(path)
		if err == nil && !strings.HasPrefix(got, "/") {
			t.Fatalf("mount point %q is not absolute", got)
		}
	})
}
