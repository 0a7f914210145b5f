package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ownerGrace is how long Down lets a live owner tear its cluster down itself.
const ownerGrace = 2 * time.Minute

// Down removes every cluster under base: a live owner (a `make cluster` still
// waiting, a test) gets SIGTERM and time to tear down in order; what is left
// after that, or what a killed owner left, is removed here.
func Down(base string) error {
	var errs []error
	for _, s := range readStates(base) {
		if s.Owner != os.Getpid() && s.ownerAlive() {
			_ = syscall.Kill(s.Owner, syscall.SIGTERM)
			if !gone(filepath.Join(base, s.Name), ownerGrace) {
				_ = syscall.Kill(s.Owner, syscall.SIGKILL)
				errs = append(errs, fmt.Errorf("cluster: owner %d of %s did not stop in %s; killed", s.Owner, s.Name, ownerGrace))
			}
		}
	}
	unlock, err := lockBase(base)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer unlock()
	for _, s := range readStates(base) {
		if s.Owner == os.Getpid() || !s.ownerAlive() {
			errs = append(errs, teardown(base, s))
		}
	}
	return errors.Join(append(errs, sweepCNICache(base))...)
}

// gone waits up to d for path to disappear.
func gone(path string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}
