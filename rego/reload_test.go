package rego_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/rampart-mesh/rampart/rego"
)

// revisionBundle is a bundle whose decision names its own revision, so a decision
// made half with one revision and half with another would show.
func revisionBundle(rev string) fstest.MapFS {
	return fstest.MapFS{
		".manifest": {Data: []byte(`{"revision": "` + rev + `", "roots": ["rampart/authz"]}`)},
		"policy.rego": {Data: []byte(`package rampart.authz

allow := {"allowed": true, "reason": "` + rev + `"} if input.attributes.request.http.method == "POST"
`)},
	}
}

// TestHotReloadUnderLoad swaps revisions (and tries bad ones) while goroutines decide
// continuously: no decision may fail, and each must come from exactly one revision.
func TestHotReloadUnderLoad(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	if err := e.LoadFS(ctx, "main", revisionBundle("rev-0")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var decisions, failures atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := &rego.Input{Request: &rego.Request{Method: "POST", Path: "/"}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := e.Decide(ctx, in)
				decisions.Add(1)
				if !d.Allowed || d.Reason != d.Revision {
					failures.Add(1)
					t.Errorf("decision %+v: not allowed, or policy of %q under revision %q", d, d.Reason, d.Revision)
				}
			}
		}()
	}
	bad := fstest.MapFS{".manifest": {Data: []byte(`{"roots": ["rampart/authz"]}`)}, "p.rego": {Data: []byte("package rampart.authz\nallow if {")}}
	for i := 1; i <= 40; i++ {
		if err := e.LoadFS(ctx, "main", revisionBundle(fmt.Sprintf("rev-%d", i))); err != nil {
			t.Fatal(err)
		}
		if err := e.LoadFS(ctx, "main", bad); err == nil {
			t.Fatal("bad bundle loaded")
		}
	}
	close(stop)
	wg.Wait()
	if e.Revision() != "rev-40" {
		t.Errorf("Revision() = %q, want rev-40", e.Revision())
	}
	t.Logf("%d decisions across 41 revisions, %d failures", decisions.Load(), failures.Load())
	if decisions.Load() == 0 {
		t.Fatal("no decisions were made during the reloads")
	}
}
