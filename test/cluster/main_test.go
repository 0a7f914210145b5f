package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/cluster"
	"github.com/rampart-mesh/rampart/test/support"
)

// One cluster per test package, started by the first test that needs it and
// shared by all (starting one takes tens of seconds); a run of fuzz targets
// alone starts none. startErr holds why it could not start.
var (
	startOnce sync.Once
	shared    *cluster.Cluster
	startErr  error
)

// childEnv marks the re-executed test binary that brings a cluster up and waits
// to be killed (TestSweepAfterSIGKILL).
const childEnv = "RAMPART_CLUSTER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(m.Run())
	}
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop:", err)
			code = 1
		}
		if left := cluster.Leftovers(cluster.DefaultBaseDir, shared.Name); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "Stop left behind: %v\n", left)
			code = 1
		}
	}
	os.Exit(code)
}

// need returns the shared cluster, or skips (fails under CI=true) when its
// prerequisites are missing, or fails when it did not start.
func need(t *testing.T) *cluster.Cluster {
	t.Helper()
	startOnce.Do(func() {
		start := time.Now()
		shared, startErr = cluster.Start(context.Background(), cluster.Options{Log: os.Stderr})
		if startErr == nil {
			fmt.Fprintf(os.Stderr, "cluster %s Ready in %.1fs\n", shared.Name, time.Since(start).Seconds())
		}
	})
	if startErr != nil {
		if errors.Is(startErr, cluster.ErrMissing) {
			support.Need(t, startErr.Error())
		}
		t.Fatalf("start cluster: %v", startErr)
	}
	return shared
}
