package support

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Need skips the test for reason, or fails it when CI=true: in CI a missing
// prerequisite is a broken machine, not a test to leave out.
func Need(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// RequireRoot calls Need with reason unless the test runs as root.
func RequireRoot(t testing.TB, reason string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Need(t, reason)
	}
}

// ToolsDir is $RAMPART_TOOLS_DIR, or <repository root>/.cache/bin, where
// `make tools` builds the third-party test tools.
func ToolsDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("RAMPART_TOOLS_DIR"); d != "" {
		return d
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, ".cache", "bin")
}

// repoRoot walks up from the working folder (a test runs in its package's) to the
// folder holding the module's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(b, []byte("module github.com/rampart-mesh/rampart\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root (go.mod of github.com/rampart-mesh/rampart) not found")
		}
		dir = parent
	}
}

// Tool returns the path of a built tool, rel to ToolsDir, or calls Need saying
// which build script (test/tools/<name>/build.sh) makes it.
func Tool(t testing.TB, rel, build string) string {
	t.Helper()
	p := filepath.Join(ToolsDir(t), rel)
	if _, err := os.Stat(p); err != nil {
		Need(t, fmt.Sprintf("no %s: run %s .cache/bin (or make tools)", p, build))
	}
	return p
}

// KubeAssets returns the newest kube-<version>/ folder of ToolsDir holding every
// one of bins (e.g. kube-apiserver, etcd), or calls Need.
func KubeAssets(t testing.TB, bins ...string) string {
	t.Helper()
	dir := ToolsDir(t)
	found, _ := filepath.Glob(filepath.Join(dir, "kube-*"))
	sort.Strings(found)
	for i := len(found) - 1; i >= 0; i-- {
		if hasAll(found[i], bins) {
			return found[i]
		}
	}
	Need(t, fmt.Sprintf("%v not built under %s (run test/tools/kube/build.sh .cache/bin, or make tools)", bins, dir))
	return ""
}

func hasAll(dir string, bins []string) bool {
	for _, b := range bins {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return false
		}
	}
	return true
}
