package demo_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rampart-mesh/rampart/test/demo"
)

// checkEnv makes the re-executed test binary print Check's verdict and exit.
const checkEnv = "RAMPART_DEMO_TEST_CHECK"

func TestMain(m *testing.M) {
	if os.Getenv(checkEnv) == "1" {
		err := demo.Check()
		var miss *demo.MissingError
		if errors.As(err, &miss) {
			os.Stdout.WriteString(err.Error())
			os.Exit(0)
		}
		os.Stdout.WriteString("no MissingError: " + errString(err))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestCheckWithoutRoot: a user without root is told so, in words, before anything
// is created. As root the check runs in a copy of the test dropped to nobody.
func TestCheckWithoutRoot(t *testing.T) {
	exe := os.Args[0]
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		exe, cred = copyForNobody(t), &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), checkEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run the check as nobody: %v: %s", err, out)
	}
	msg := string(out)
	if !strings.Contains(msg, "cannot run the demo") || !strings.Contains(msg, "root") {
		t.Errorf("message %q does not say that root is missing", msg)
	}
}

// copyForNobody copies the test binary where uid nobody may execute it (go test's
// build folder is private to root).
func copyForNobody(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "rampart-demo-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe := filepath.Join(dir, "demo.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}
