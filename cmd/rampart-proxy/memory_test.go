package main_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/support"
)

// TestReleaseStartupMemory runs the real binary with and without the start-up
// release: with it, the proxy keeps far fewer pages of its executable mapped
// (RssFile) after the first round, and still decides requests with the policy
// (whose code it has to fault back in).
func TestReleaseStartupMemory(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rampart-proxy")
	support.GoBuild(t, "", bin, ".")
	off := rssFileAfterStart(t, bin, "false")
	on := rssFileAfterStart(t, bin, "true")
	t.Logf("RssFile 2 s after start: %d kB released, %d kB kept", on, off)
	if on*4 > off*3 {
		t.Errorf("released proxy maps %d kB of files, not less than 3/4 of the %d kB mapped without the release", on, off)
	}
}

// rssFileAfterStart starts bin with RAMPART_RELEASE_STARTUP_MEMORY=release, lets
// the first release round (1 s after start) pass, checks the proxy still denies
// PUT /v1/exhaust-port by policy, and returns its RssFile in kB.
func rssFileAfterStart(t *testing.T, bin, release string) int {
	t.Helper()
	listen := freeAddr(t)
	var stderr support.Buffer
	cmd := exec.Command(bin, "--bundle", "../../policies/starwars", "--listen-plaintext", listen,
		"--upstream", freeAddr(t), "--log-level", "debug")
	cmd.Env = append(os.Environ(), "RAMPART_RELEASE_STARTUP_MEMORY="+release)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	started := time.Now()
	if code := request(t, listen, "PUT", "/v1/exhaust-port"); code != 403 {
		t.Fatalf("release=%s: exhaust port before the release: %d, want 403", release, code)
	}
	time.Sleep(time.Until(started.Add(2 * time.Second)))
	if code := request(t, listen, "PUT", "/v1/exhaust-port"); code != 403 {
		t.Fatalf("release=%s: exhaust port after the release: %d, want 403\n%s", release, code, stderr.String())
	}
	kb, err := statusKB(cmd.Process.Pid, "RssFile:")
	if err != nil {
		t.Fatal(err)
	}
	if logged := strings.Contains(stderr.String(), "released start-up memory"); logged != (release == "true") {
		t.Errorf("release=%s: logged a release: %v\n%s", release, logged, stderr.String())
	}
	return kb
}

// statusKB reads one kB figure of /proc/PID/status.
func statusKB(pid int, field string) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	for s := bufio.NewScanner(f); s.Scan(); {
		if v, ok := strings.CutPrefix(s.Text(), field); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}
