package support

import (
	"testing"
	"time"
)

// Wait is how long Eventually polls before it fails the test: generous, because
// a loaded 2-core CI machine (tests under the race detector, other jobs) has
// needed more than 5 s for what takes milliseconds on a quiet one. Only a
// failing test waits this long.
const Wait = 20 * time.Second

// pollEvery is how often a condition is tried again.
const pollEvery = 10 * time.Millisecond

// Eventually polls cond until it holds, and fails the test with "<what>: not
// within <Wait>" when it does not within Wait. Call it from the test's
// goroutine (it may call t.Fatal).
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, Wait, what, cond)
}

// EventuallyWithin is Eventually with its own limit, for conditions a test
// knows should hold sooner (or later) than Wait.
func EventuallyWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(d, cond) {
		t.Fatalf("%s: not within %v", what, d)
	}
}

// Poll tries cond until it holds (true) or d has passed (false), for a test
// that reports the failure itself. cond is tried at least once, and once more
// after the deadline, so that a slow first try does not fail it.
func Poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(pollEvery)
	}
	return true
}
