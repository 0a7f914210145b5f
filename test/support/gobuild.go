package support

import (
	"os"
	"os/exec"
	"testing"
)

// GoBuildCmd returns `go build -trimpath -o out pkgs...` run in dir ("" = the
// current folder) with cgo off: the flags the images are built with
// (cmd/internal/images), so a binary a test builds shares the compile cache with
// `make images`, TestImages and the cluster harness, whatever mode the test itself
// runs in (plain, -race, fuzz). out is a file, or a folder ending in a separator.
func GoBuildCmd(dir, out string, pkgs ...string) *exec.Cmd {
	cmd := exec.Command("go", append([]string{"build", "-trimpath", "-o", out}, pkgs...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return cmd
}

// GoBuild runs GoBuildCmd and fails the test, with go's output, if it fails.
func GoBuild(t testing.TB, dir, out string, pkgs ...string) {
	t.Helper()
	if b, err := GoBuildCmd(dir, out, pkgs...).CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", pkgs, err, b)
	}
}
