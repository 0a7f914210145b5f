package identity_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/identity"
)

// syncBuffer is a bytes.Buffer safe for the source's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRotatingSourceKeepsLastGood: when re-issuing fails (here the CA is about to
// expire, so no new SVID may outlive it) the source logs the failure and keeps
// serving its last SVID instead of failing handshakes early.
func TestRotatingSourceKeepsLastGood(t *testing.T) {
	ca, err := identity.NewCA(testTD, 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	src, err := identity.NewRotatingSource(ca, serverID, identity.RotatingOptions{
		TTL: time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	waitFor(t, func() bool { return strings.Contains(logs.String(), "re-issue SVID failed") }, "a failed re-issue")
	last, err := src.GetX509SVID()
	if err != nil {
		t.Fatalf("no SVID after a failed re-issue: %v", err)
	}
	if !strings.Contains(logs.String(), "outlives the CA") {
		t.Errorf("log does not say why: %s", logs.String())
	}
	time.Sleep(1100 * time.Millisecond) // the retry fails the same way
	if again, _ := src.GetX509SVID(); again != last {
		t.Error("SVID changed although re-issuing keeps failing")
	}
}
