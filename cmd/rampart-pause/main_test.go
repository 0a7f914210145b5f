package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/support"
)

// TestPause runs the built binary: -version answers, and SIGTERM or SIGINT (what
// the runtime sends when a pod stops) ends it with status 0, after a SIGCHLD with
// no child to reap changed nothing.
func TestPause(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rampart-pause")
	support.GoBuild(t, "", bin, ".")
	out, err := exec.Command(bin, "-version").Output()
	if err != nil || !strings.HasPrefix(string(out), "rampart-pause ") {
		t.Fatalf("-version: %q, %v", out, err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		if err := stopWith(t, bin, sig); err != nil {
			t.Errorf("%v: %v", sig, err)
		}
	}
}

// stopWith starts bin and signals it once it runs. Go's runtime kills a process
// that gets SIGTERM before main's signal.Notify, which no outside observer can
// tell from a missing handler, so it retries with longer waits: a binary that
// never handles the signal still fails every attempt.
func stopWith(t *testing.T, bin string, sig syscall.Signal) error {
	var err error
	for wait := 50 * time.Millisecond; wait <= 1600*time.Millisecond; wait *= 2 {
		cmd := exec.Command(bin)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(wait)
		cmd.Process.Signal(syscall.SIGCHLD)
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			return errors.New("still running 10s after the signal")
		}
		if err == nil {
			return nil
		}
	}
	return err
}
