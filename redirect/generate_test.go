package redirect_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
)

// TestSourcesMatchRecordedHash fails when capture.c or maps.h changed after the
// objects were generated (go generate records their hashes).
func TestSourcesMatchRecordedHash(t *testing.T) {
	b, err := os.ReadFile("capture_sources.sha256")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		t.Fatalf("capture_sources.sha256 lists %d files", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		src, err := os.ReadFile(f[1])
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(src); hex.EncodeToString(sum[:]) != f[0] {
			t.Errorf("%s changed since the objects were generated: run make generate", f[1])
		}
	}
}

// TestObjectsFresh regenerates the objects with the go:generate line of gen.go into a
// temporary folder and compares them byte for byte with the committed ones.
func TestObjectsFresh(t *testing.T) {
	podtest.RequireTool(t, "clang")
	args := bpf2goArgs(t)
	out := t.TempDir()
	// Flags must come before bpf2go's positional arguments.
	args = append([]string{"tool", args[0], "-output-dir", out}, args[1:]...)
	cmd := exec.Command("go", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpf2go: %v\n%s", err, b)
	}
	for _, f := range []string{"capture_bpfel.o", "capture_bpfel.go"} {
		fresh, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s is stale: run make generate and commit it", f)
		}
	}
}

// bpf2goArgs reads gen.go's bpf2go line and splits it, honouring double quotes.
func bpf2goArgs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("gen.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "//go:generate go tool "); ok && strings.HasPrefix(rest, "bpf2go") {
			return splitQuoted(rest)
		}
	}
	t.Fatal("gen.go has no bpf2go go:generate line")
	return nil
}

func splitQuoted(s string) []string {
	var args []string
	var cur strings.Builder
	quoted, started := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, started = !quoted, true
		case r == ' ' && !quoted:
			if started {
				args, started = append(args, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			started = true
		}
	}
	if started {
		args = append(args, cur.String())
	}
	return args
}
