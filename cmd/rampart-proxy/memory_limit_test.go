package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/support"
)

// TestMemoryLimitFromEnv runs the real binary: $RAMPART_MEMORY_LIMIT (what the
// injector sets from the container's limit) becomes a Go memory limit of 90 % of
// it, unless $GOMEMLIMIT is set; a malformed value stops the proxy, naming it.
func TestMemoryLimitFromEnv(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rampart-proxy")
	support.GoBuild(t, "", bin, ".")
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"RAMPART_MEMORY_LIMIT=1000000000"}, `"msg":"memory limit set","bytes":900000000`},
		{[]string{"RAMPART_MEMORY_LIMIT=1000000000", "GOMEMLIMIT=500MiB"}, `"msg":"memory limit from GOMEMLIMIT"`},
		{[]string{"RAMPART_MEMORY_LIMIT=128Mi"}, `$RAMPART_MEMORY_LIMIT "128Mi"`},
	} {
		listen := freeAddr(t)
		var stderr support.Buffer
		cmd := exec.Command(bin, "--bundle", "../../policies/starwars", "--listen-plaintext", listen, "--upstream", freeAddr(t))
		cmd.Env = append(os.Environ(), tc.env...)
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), tc.want) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		<-exited
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: output lacks %s:\n%s", tc.env, tc.want, stderr.String())
		}
	}
}
