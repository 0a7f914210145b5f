package rego_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/test/support"
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
	support.Eventually(t, "revision starwars-v1", func() bool { return e.Revision() == "starwars-v1" })
	srv.serve(t, v2, `"v2"`, http.StatusServiceUnavailable)
	time.Sleep(100 * time.Millisecond)
	if e.Revision() != "starwars-v1" {
		t.Fatalf("revision %q while the service fails, want starwars-v1", e.Revision())
	}
	srv.serve(t, v2, `"v2"`, 0)
	support.Eventually(t, "revision starwars-v2", func() bool { return e.Revision() == "starwars-v2" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Poll returned %v, want context.Canceled", err)
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

// TestPollOnceRefusesOversizedBundle: a download over PollOptions.MaxBytes is refused
// with ErrBundleTooLarge whether the service declares its length or streams it
// chunked, nothing is loaded, and a bundle of exactly MaxBytes still loads.
func TestPollOnceRefusesOversizedBundle(t *testing.T) {
	body, err := os.ReadFile(buildTarball(t, starwarsDir, rego.BuildOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, chunked := range []bool{false, true} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if !chunked {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			}
			half := len(body) / 2
			w.Write(body[:half])
			w.(http.Flusher).Flush() // without a Content-Length: sent chunked
			w.Write(body[half:])
		}))
		e := newEngine(t)
		o := rego.PollOptions{URL: hs.URL, MaxBytes: int64(len(body) - 1)}
		_, err := e.PollOnce(context.Background(), "main", o, "")
		var be *rego.BundleError
		if !errors.Is(err, rego.ErrBundleTooLarge) || !errors.As(err, &be) || e.Ready() {
			t.Errorf("chunked=%v: %d-byte bundle with MaxBytes %d: err %v, ready %v; want a refused BundleError wrapping ErrBundleTooLarge",
				chunked, len(body), o.MaxBytes, err, e.Ready())
		}
		o.MaxBytes = int64(len(body))
		if _, err := e.PollOnce(context.Background(), "main", o, ""); err != nil || e.Revision() != "starwars-v1" {
			t.Errorf("chunked=%v: bundle of exactly MaxBytes: err %v, revision %q", chunked, err, e.Revision())
		}
		hs.Close()
	}
}

// TestPollLogsEachRefusalOnce: Poll against a service serving a bad bundle three
// times, then 304s, logs exactly one warning or error per refused poll, not one from
// PollOnce and another from Poll.
func TestPollLogsEachRefusalOnce(t *testing.T) {
	bad, err := os.ReadFile("testdata/badbundles/traversal.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	const refused = 3
	var polls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if polls.Add(1) > refused {
			w.WriteHeader(http.StatusNotModified) // not a failure: not logged
			return
		}
		w.Write(bad)
	}))
	defer hs.Close()
	var logs lockedLog
	e := newEngine(t, rego.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Poll(ctx, "main", rego.PollOptions{URL: hs.URL, MinDelay: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	// Polls run one after another: once the fifth has arrived, the third refusal
	// has been logged, and 304s log nothing.
	support.Eventually(t, "two polls after the refusal", func() bool { return polls.Load() >= refused+2 })
	if got := logs.count(`"level":"WARN"`) + logs.count(`"level":"ERROR"`); got != refused {
		t.Errorf("%d warnings and errors for %d refused polls, want one each:\n%s", got, refused, logs.String())
	}
}

// lockedLog collects log output written from Poll's goroutine.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedLog) count(s string) int { return strings.Count(l.String(), s) }
