package e2e_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/test/demo"
	"github.com/rampart-mesh/rampart/test/support"
)

// proxyBinary and rampartBinary are built once for the whole package (the proxy
// may come from $RAMPART_PROXY instead), in a folder uid 1337 can execute from.
var proxyBinary, rampartBinary string

func TestMain(m *testing.M) {
	demo.MaybeHelper() // re-executed as an app inside a pod: run it and exit
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run()) // `make fuzz` lists targets: no binaries needed
	}
	if os.Getenv(childEnv) != "" { // a child of TestTeardownAfterFailure
		proxyBinary = os.Getenv("RAMPART_PROXY")
		os.Exit(m.Run())
	}
	code := 1
	dir, err := os.MkdirTemp("", "rpe2e-bin")
	if err == nil {
		proxyBinary, err = buildProxy(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildProxy(dir string) (string, error) {
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	rampartBinary = filepath.Join(dir, "rampart")
	pkgs := []string{"./cmd/rampart", "./cmd/rampart-proxy"}
	proxy := os.Getenv("RAMPART_PROXY")
	if proxy != "" {
		pkgs = pkgs[:1]
	} else {
		proxy = filepath.Join(dir, "rampart-proxy")
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	cmd := support.GoBuildCmd(filepath.Dir(strings.TrimSpace(string(gomod))), dir+"/", pkgs...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %v: %v: %s", pkgs, err, b)
	}
	return proxy, nil
}

// newEnv returns a fresh Env (torn down at the test's end), after checking that
// the machine can run it.
func newEnv(t *testing.T) *demo.Env {
	t.Helper()
	if os.Geteuid() != 0 {
		support.Need(t, "needs root: network namespaces, cgroups, eBPF")
	}
	if err := demo.Check(); err != nil {
		support.Need(t, err.Error())
	}
	env, err := demo.NewEnv(demo.EnvOptions{Tag: "rpe2e", Helper: demo.TestHelper(), ProxyBinary: proxyBinary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return env
}

// starWars builds the scenario in a fresh Env.
func starWars(t *testing.T, mode demo.Mode) *demo.StarWars {
	t.Helper()
	env := newEnv(t)
	sw, err := demo.StartStarWars(env, demo.StarWarsOptions{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return sw
}
