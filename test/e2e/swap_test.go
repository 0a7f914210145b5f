package e2e_test

import (
	"sync"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/demo"
)

// traffic is a tiefighter sending PUT /v1/exhaust-port and POST
// /v1/request-landing in turn, each on a new connection, until stopped.
type traffic struct {
	mu      sync.Mutex
	results []timed
	stop    chan struct{}
	done    chan error
}

type timed struct {
	at time.Time
	r  demo.Result
}

func startTraffic(sw *demo.StarWars) *traffic {
	tr := &traffic{stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		for i := 0; ; i++ {
			select {
			case <-tr.stop:
				tr.done <- nil
				return
			default:
			}
			method, path := "PUT", "/v1/exhaust-port"
			if i%2 == 1 {
				method, path = "POST", "/v1/request-landing"
			}
			r, err := sw.Tiefighter.Do(method, sw.ServiceURL(path))
			if err != nil {
				tr.done <- err
				return
			}
			tr.mu.Lock()
			tr.results = append(tr.results, timed{time.Now(), r})
			tr.mu.Unlock()
		}
	}()
	return tr
}

// waitPUT waits until a PUT sent after since gets status, and returns when that
// PUT was answered.
func (tr *traffic) waitPUT(t *testing.T, since time.Time, status int, limit time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		tr.mu.Lock()
		for _, x := range tr.results {
			if x.at.After(since) && x.r.Method == "PUT" && x.r.Status == status {
				tr.mu.Unlock()
				return x.at
			}
		}
		tr.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no PUT answered %d within %v of the swap", status, limit)
	return time.Time{}
}

// TestBundleSwap swaps the served bundle, while a tiefighter keeps sending, to one
// that also allows PUT /v1/exhaust-port and back. No request may fail, the
// decision must follow each swap, and every decision names the revision it used.
func TestBundleSwap(t *testing.T) {
	sw := starWars(t, demo.Strict)
	tr := startTraffic(sw)
	time.Sleep(300 * time.Millisecond) // some traffic under the first revision
	swaps := []swap{{dir: sw.ExhaustBundle, rev: demo.ExhaustRevision, status: 200},
		{dir: sw.StarWarsBundle, rev: demo.StarWarsRevision, status: 403}}
	for i := range swaps {
		s := &swaps[i]
		s.at = time.Now()
		if err := sw.Bundles.Set(s.dir); err != nil {
			t.Fatal(err)
		}
		took := tr.waitPUT(t, s.at, s.status, 30*time.Second).Sub(s.at)
		t.Logf("swap to %s: first PUT answered %d %v after the swap", s.rev, s.status, took.Round(time.Millisecond))
		time.Sleep(2 * demo.BundlePoll) // every replica polls, then traffic under this revision
	}
	close(tr.stop)
	if err := <-tr.done; err != nil {
		t.Fatal(err)
	}
	checkSwapTraffic(t, tr.results)
	checkSwapDecisions(t, sw)
	checkSwapTimes(t, sw, swaps)
}

// swap is one bundle swap of TestBundleSwap.
type swap struct {
	dir, rev string
	status   int
	at       time.Time
}

// checkSwapTimes: each replica's first decision with a swapped-in revision came
// within the poll interval of the swap. OPA-style polling waits a random delay
// between the interval and twice it, and the load itself takes time: the bound
// is 2×interval + 1s.
func checkSwapTimes(t *testing.T, sw *demo.StarWars, swaps []swap) {
	t.Helper()
	poll := demo.BundlePoll
	ds, err := sw.Decisions()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range swaps {
		for _, p := range sw.Deathstar {
			first := time.Time{}
			for _, d := range ds {
				if d.Proxy == p.Name && d.Revision() == s.rev && d.Time.After(s.at) && first.IsZero() {
					first = d.Time
				}
			}
			took := first.Sub(s.at)
			t.Logf("%s decided with %s %v after the swap", p.Name, s.rev, took.Round(time.Millisecond))
			if first.IsZero() || took > 2*poll+time.Second {
				t.Errorf("%s: first decision with %s %v after the swap, want within 2×%v+1s", p.Name, s.rev, took, poll)
			}
		}
	}
}

// checkSwapTraffic: every request got an answer; landings always succeeded.
func checkSwapTraffic(t *testing.T, results []timed) {
	t.Helper()
	failed, puts := 0, map[int]int{}
	for _, x := range results {
		switch {
		case x.r.Failed():
			failed++
			t.Errorf("request failed during a swap: %+v", x.r)
		case x.r.Method == "POST" && x.r.Status != 200:
			t.Errorf("landing refused during a swap: %+v", x.r)
		case x.r.Method == "PUT":
			puts[x.r.Status]++
		}
	}
	t.Logf("%d requests, %d failed, PUT outcomes by status %v", len(results), failed, puts)
	if puts[200] == 0 || puts[403] == 0 {
		t.Errorf("PUT outcomes %v: want both 200 (swapped bundle) and 403 (Star Wars)", puts)
	}
}

// checkSwapDecisions: a PUT was allowed exactly when decided with the swapped
// bundle's revision, and both revisions decided some.
func checkSwapDecisions(t *testing.T, sw *demo.StarWars) {
	t.Helper()
	ds, err := sw.Decisions()
	if err != nil {
		t.Fatal(err)
	}
	byRev := map[string]int{}
	for _, d := range ds {
		rev := d.Revision()
		byRev[rev]++
		if rev != demo.StarWarsRevision && rev != demo.ExhaustRevision {
			t.Errorf("decision with revision %q: %s", rev, d.Raw)
		}
		if d.Method == "PUT" && d.Allowed != (rev == demo.ExhaustRevision) {
			t.Errorf("PUT allowed=%v under revision %q", d.Allowed, rev)
		}
	}
	t.Logf("decisions by revision: %v", byRev)
	if byRev[demo.StarWarsRevision] == 0 || byRev[demo.ExhaustRevision] == 0 {
		t.Errorf("decisions by revision %v: want both", byRev)
	}
}
