package outbound_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// TestCheckCaptureUncaptured runs the check where nothing captures it (this test
// process): the kernel refuses the sentinel at once (no packet is sent), and the
// check retries until its wait ends, then says why.
func TestCheckCaptureUncaptured(t *testing.T) {
	retries := 0
	start := time.Now()
	err := outbound.CheckCapture(context.Background(), outbound.CheckOptions{
		Wait: time.Second, Interval: 50 * time.Millisecond,
		OnRetry: func(int, error) { retries++ },
	})
	if !errors.Is(err, outbound.ErrNotCaptured) || !strings.Contains(err.Error(), "network is unreachable") {
		t.Fatalf("CheckCapture = %v, want ErrNotCaptured saying the sentinel is unreachable", err)
	}
	// It retried (a loaded machine may fit fewer than 20 attempts in the second),
	// and stopped when the wait ended, not much later.
	if retries < 2 {
		t.Errorf("%d attempts in 1s at a 50ms interval", retries)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s for a 1s wait", d)
	}
}

// TestCheckCaptureCancelled: the check ends with its context (the kubelet's SIGTERM).
func TestCheckCaptureCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if err := outbound.CheckCapture(ctx, outbound.CheckOptions{Wait: time.Minute}); err == nil {
		t.Fatal("check passed without capture")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancelled check took %s to end", d)
	}
}
