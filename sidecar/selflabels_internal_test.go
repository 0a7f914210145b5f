package sidecar

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// knownFrom is discovery that learns the pod at 198.18.0.7 at a given time.
type knownFrom time.Time

func (k knownFrom) Workload(ip netip.Addr) (inbound.Workload, bool) {
	if ip != netip.MustParseAddr("198.18.0.7") || time.Now().Before(time.Time(k)) {
		return inbound.Workload{}, false
	}
	return inbound.Workload{Labels: map[string]string{"app": "deathstar"}}, true
}

// TestSelfLabelsWaits: a starting proxy polls discovery for its own pod until
// it is known (within one 100 ms poll of that), gives up exactly at the wait,
// and at once when its context ends. In a synctest bubble the ten-second wait
// takes no time and its bounds are exact.
func TestSelfLabelsWaits(t *testing.T) {
	ips := []netip.Addr{netip.MustParseAddr("198.18.0.9"), netip.MustParseAddr("198.18.0.7")}
	for _, tc := range []struct {
		name       string
		knownAfter time.Duration
		cancel     time.Duration // 0: never
		found      bool
		tookMin    time.Duration
		tookMax    time.Duration
	}{
		{"known at once", 0, 0, true, 0, 0},
		{"known after 3s", 3 * time.Second, 0, true, 3 * time.Second, 3100 * time.Millisecond},
		{"never known", time.Hour, 0, false, selfLabelsWait, selfLabelsWait + 100*time.Millisecond},
		{"cancelled", time.Hour, 2 * time.Second, false, 2 * time.Second, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.cancel > 0 {
					time.AfterFunc(tc.cancel, cancel)
				}
				start := time.Now()
				labels, ok := selfLabels(ctx, knownFrom(start.Add(tc.knownAfter)), ips, selfLabelsWait)
				took := time.Since(start)
				if ok != tc.found || (ok && labels["app"] != "deathstar") {
					t.Errorf("got %v %v, want found %v", labels, ok, tc.found)
				}
				if took < tc.tookMin || took > tc.tookMax {
					t.Errorf("returned after %v, want within [%v, %v]", took, tc.tookMin, tc.tookMax)
				}
			})
		})
	}
}
