package support_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/support"
)

// TestNeed runs Need in a child test binary with and without CI=true: skipped
// outside CI, failed in it.
func TestNeed(t *testing.T) {
	if os.Getenv("SUPPORT_CHILD") == "1" {
		support.Need(t, "planted reason")
		return
	}
	for _, tc := range []struct {
		ci, want string
		fails    bool
	}{
		{"", "--- SKIP: TestNeed", false},
		{"true", "--- FAIL: TestNeed", true},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNeed$", "-test.v")
		cmd.Env = append(os.Environ(), "SUPPORT_CHILD=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.fails || !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "planted reason") {
			t.Errorf("CI=%q: err %v, want %s with the reason:\n%s", tc.ci, err, tc.want, out)
		}
	}
}

// TestToolsDir: $RAMPART_TOOLS_DIR wins; else the repository's .cache/bin.
func TestToolsDir(t *testing.T) {
	t.Setenv("RAMPART_TOOLS_DIR", "/planted")
	if got := support.ToolsDir(t); got != "/planted" {
		t.Errorf("with the variable: %s", got)
	}
	t.Setenv("RAMPART_TOOLS_DIR", "")
	got := support.ToolsDir(t)
	if filepath.Base(got) != "bin" || filepath.Base(filepath.Dir(got)) != ".cache" {
		t.Fatalf("without the variable: %s", got)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(got)), "go.mod")); err != nil {
		t.Errorf("%s is not beside the module's go.mod: %v", got, err)
	}
}

// TestKubeAssets picks the newest kube-* folder that has every binary asked for.
func TestKubeAssets(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"kube-v1.1.0/kube-apiserver", "kube-v1.1.0/etcd", "kube-v1.2.0/kube-apiserver"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("RAMPART_TOOLS_DIR", dir)
	if got := support.KubeAssets(t, "kube-apiserver", "etcd"); got != filepath.Join(dir, "kube-v1.1.0") {
		t.Errorf("apiserver and etcd: %s", got)
	}
	if got := support.KubeAssets(t, "kube-apiserver"); got != filepath.Join(dir, "kube-v1.2.0") {
		t.Errorf("apiserver only: %s", got)
	}
}

// TestPoll: a condition that comes true is seen; one that never does is
// reported after about the limit, not before.
func TestPoll(t *testing.T) {
	n := 0
	if !support.Poll(time.Second, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("true on the 3rd try: got after %d tries", n)
	}
	start := time.Now()
	if support.Poll(50*time.Millisecond, func() bool { return false }) {
		t.Error("a false condition held")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the limit", d)
	}
}

// TestBuffer: writes from many goroutines all land, read while written (the
// race detector checks the locking).
func TestBuffer(t *testing.T) {
	var b support.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := len(b.Bytes()); got != 800 {
		t.Errorf("%d bytes, want 800", got)
	}
	b.Reset()
	if b.String() != "" {
		t.Error("Reset left bytes")
	}
}
