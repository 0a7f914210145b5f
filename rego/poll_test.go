package rego_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
)

// bundleServer is a real HTTP bundle service on loopback: it serves whatever tarball
// it is told to, with an ETag, answers 304 to a matching If-None-Match, and can fail.
type bundleServer struct {
	mu       sync.Mutex
	body     []byte
	etag     string
	status   int      // non-zero: answer with this status instead
	requests []string // If-None-Match of each request
}

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Header.Get("If-None-Match"))
	switch {
	case s.status != 0:
		w.WriteHeader(s.status)
	case r.Header.Get("If-None-Match") == s.etag:
		w.WriteHeader(http.StatusNotModified)
	default:
		w.Header().Set("ETag", s.etag)
		_, _ = w.Write(s.body)
	}
}

func (s *bundleServer) serve(t *testing.T, file, etag string, status int) {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag, s.status = body, etag, status
}

func (s *bundleServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func TestPollOnce(t *testing.T) {
	ctx := context.Background()
	srv := &bundleServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	o := rego.PollOptions{URL: hs.URL + "/bundles/starwars.tar.gz"}
	e := newEngine(t)

	srv.serve(t, buildTarball(t, starwarsDir, rego.BuildOptions{}), `"v1"`, 0)
	etag, err := e.PollOnce(ctx, "main", o, "")
	if err != nil || etag != `"v1"` || e.Revision() != "starwars-v1" {
		t.Fatalf("first poll: etag %q, err %v, revision %q", etag, err, e.Revision())
	}
	if _, err := e.PollOnce(ctx, "main", o, etag); !errors.Is(err, rego.ErrNotModified) {
		t.Fatalf("second poll err = %v, want ErrNotModified", err)
	}
	srv.serve(t, "testdata/badbundles/traversal.tar.gz", `"bad"`, 0)
	if _, err := e.PollOnce(ctx, "main", o, etag); err == nil {
		t.Fatal("bad bundle from the service was accepted")
	}
	srv.serve(t, "testdata/badbundles/traversal.tar.gz", `"bad"`, http.StatusInternalServerError)
	if _, err := e.PollOnce(ctx, "main", o, etag); err == nil {
		t.Fatal("500 from the service was not an error")
	}
	if d := e.Decide(ctx, tiefighterLands()); !d.Allowed || d.Revision != "starwars-v1" {
		t.Fatalf("after failed polls: %+v, want starwars-v1 still serving", d)
	}
	if got := srv.seen(); len(got) != 4 || got[0] != "" || got[1] != `"v1"` {
		t.Errorf("If-None-Match sent: %q, want none first, then the ETag", got)
	}
}

// TestPollLoop runs Poll against the service while the service changes revision,
// fails for a while, and recovers.
func TestPollLoop(t *testing.T) {
	srv := &bundleServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	v1 := buildTarball(t, starwarsDir, rego.BuildOptions{})
	v2 := buildTarball(t, starwarsDir, rego.BuildOptions{Revision: "starwars-v2"})
	srv.serve(t, v1, `"v1"`, 0)

	e := newEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- e.Poll(ctx, "main", rego.PollOptions{URL: hs.URL, MinDelay: 5 * time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	}()
	waitFor(t, func() bool { return e.Revision() == "starwars-v1" })
	srv.serve(t, v2, `"v2"`, http.StatusServiceUnavailable)
	time.Sleep(100 * time.Millisecond)
	if e.Revision() != "starwars-v1" {
		t.Fatalf("revision %q while the service fails, want starwars-v1", e.Revision())
	}
	srv.serve(t, v2, `"v2"`, 0)
	waitFor(t, func() bool { return e.Revision() == "starwars-v2" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Poll returned %v, want context.Canceled", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPollDelayBacksOff(t *testing.T) {
	o := rego.PollOptions{MinDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxBackoff: time.Second}
	for range 100 {
		for failures, bounds := range map[int][2]time.Duration{
			0:  {10 * time.Millisecond, 20 * time.Millisecond},
			1:  {10 * time.Millisecond, 20 * time.Millisecond},
			3:  {40 * time.Millisecond, 80 * time.Millisecond},
			7:  {500 * time.Millisecond, time.Second}, // 1.28 s capped at MaxBackoff
			99: {500 * time.Millisecond, time.Second},
		} {
			if d := o.Delay(failures); d < bounds[0] || d > bounds[1] {
				t.Fatalf("Delay(%d) = %v, want within %v", failures, d, bounds)
			}
		}
	}
}
