package identity_test

import (
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestRotatingSourceKeepsLastGood: the source re-issues at half of an SVID's
// lifetime; when re-issuing fails (here the CA is about to expire, so no new
// SVID may outlive it) it logs the failure, keeps serving its last SVID instead
// of failing handshakes early, and retries a second later.
//
// It runs in a synctest bubble: the schedule (1 s SVIDs from a 4 s CA, starting
// at the bubble's midnight: re-issues at 0.5, 1.25, 2.125 s, the first failure
// at 3.0625 s, retries every second) plays out on the fake clock, exactly and
// at once, instead of over seconds of sleeping.
func TestRotatingSourceKeepsLastGood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ca, err := identity.NewCA(testTD, 4*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var logs support.Buffer
		src, err := identity.NewRotatingSource(ca, serverID, identity.RotatingOptions{
			TTL: time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		failures := func() int { return strings.Count(logs.String(), "re-issue SVID failed") }
		first, _ := src.GetX509SVID()
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		if second, _ := src.GetX509SVID(); second == first {
			t.Error("no new SVID at half of the first one's lifetime")
		}
		time.Sleep(3*time.Second - 600*time.Millisecond) // 3 s: the CA has time left for one more
		synctest.Wait()
		if n := failures(); n != 0 {
			t.Fatalf("%d failures before the CA ran short:\n%s", n, logs.String())
		}
		time.Sleep(100 * time.Millisecond) // 3.1 s: a 1 s SVID would outlive the CA
		synctest.Wait()
		if n := failures(); n != 1 {
			t.Fatalf("%d failed re-issues, want 1:\n%s", n, logs.String())
		}
		if !strings.Contains(logs.String(), "outlives the CA") {
			t.Errorf("log does not say why: %s", logs.String())
		}
		last, err := src.GetX509SVID()
		if err != nil {
			t.Fatalf("no SVID after a failed re-issue: %v", err)
		}
		time.Sleep(time.Second) // the retry fails the same way
		synctest.Wait()
		if n := failures(); n != 2 {
			t.Errorf("%d failed re-issues a second later, want 2 (one retry)", n)
		}
		if again, _ := src.GetX509SVID(); again != last {
			t.Error("SVID changed although re-issuing keeps failing")
		}
	})
}
