package catalog_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/redirect/agent/catalog"
)

// TestPodUIDFromCgroup reads /proc/<pid>/cgroup files of both kubelet cgroup
// drivers and of a hybrid node; files named bad-* must name no pod.
func TestPodUIDFromCgroup(t *testing.T) {
	const want = "0f3e4a6c-1b2d-4e5f-8a9b-0c1d2e3f4a5b"
	files, _ := filepath.Glob("testdata/cgroup/*.txt")
	if len(files) < 8 {
		t.Fatalf("only %d testdata files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			uid, err := catalog.PodUIDFromCgroup(b)
			if strings.HasPrefix(filepath.Base(f), "bad-") {
				if !errors.Is(err, catalog.ErrNoPod) {
					t.Errorf("got %q, %v; want ErrNoPod", uid, err)
				}
				return
			}
			if err != nil || uid != want {
				t.Errorf("got %q, %v; want %s", uid, err, want)
			}
		})
	}
}

// FuzzPodUIDFromCgroup: any answer is a UUID-shaped UID that the file names.
func FuzzPodUIDFromCgroup(f *testing.F) {
	files, _ := filepath.Glob("testdata/cgroup/*.txt")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		uid, err := catalog.PodUIDFromCgroup(b)
		if err != nil {
			return
		}
		if len(uid) != 36 || !strings.Contains(string(b), uid) && !strings.Contains(string(b), strings.ReplaceAll(uid, "-", "_")) {
			t.Fatalf("uid %q not named by %q", uid, b)
		}
	})
}
