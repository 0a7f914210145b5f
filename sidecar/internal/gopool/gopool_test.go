package gopool_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/internal/gopool"
)

// Every job runs exactly once, concurrently with the others (a job that waits
// for another must not deadlock the pool), and the pool keeps at most Max
// goroutines parked afterwards.
func TestRunsEveryJobConcurrently(t *testing.T) {
	var p gopool.Pool
	const jobs = 100
	var ran atomic.Int32
	var started, release sync.WaitGroup
	started.Add(jobs)
	release.Add(1)
	var done sync.WaitGroup
	done.Add(jobs)
	for range jobs {
		p.Go(func() {
			defer done.Done()
			ran.Add(1)
			started.Done()
			release.Wait() // all jobs are running at once
		})
	}
	waitOrFail(t, &started)
	release.Done()
	waitOrFail(t, &done)
	if ran.Load() != jobs {
		t.Fatalf("ran %d jobs, want %d", ran.Load(), jobs)
	}
	deadline := time.Now().Add(time.Second)
	for p.Idle() != gopool.Max && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if got := p.Idle(); got != gopool.Max {
		t.Fatalf("%d parked goroutines, want %d", got, gopool.Max)
	}
}

// A parked goroutine takes the next job instead of a new goroutine starting.
func TestReusesParkedGoroutines(t *testing.T) {
	var p gopool.Pool
	done := make(chan struct{})
	p.Go(func() { close(done) })
	<-done
	for p.Idle() != 1 {
		runtime.Gosched()
	}
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		p.Go(wg.Done)
		wg.Wait()
		for p.Idle() != 1 {
			runtime.Gosched()
		}
	}
	if after := runtime.NumGoroutine(); after != before {
		t.Fatalf("goroutines %d → %d: sequential jobs should reuse the parked one", before, after)
	}
}

func waitOrFail(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("jobs did not all run")
	}
}
