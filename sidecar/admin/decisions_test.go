package admin_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/admin"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestDecisionRing: the ring keeps the newest lines within its size, drops a
// line larger than itself, and serves what it holds oldest first.
func TestDecisionRing(t *testing.T) {
	r := admin.NewDecisionRing(100)
	for i := range 50 {
		fmt.Fprintf(r, "{\"n\":%02d}\n", i) // 9 bytes
	}
	r.Write([]byte(strings.Repeat("x", 101)))
	if r.Bytes() > 100 || r.Bytes() != 99 {
		t.Fatalf("ring holds %d bytes, want 99 (11 lines)", r.Bytes())
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/decisions", nil))
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if len(lines) != 11 || lines[0] != `{"n":39}` || lines[10] != `{"n":49}` {
		t.Fatalf("served %q", lines)
	}
}

// TestDecisionRingFollow: ?follow=1 sends what the ring holds, then each new line
// as it is written.
func TestDecisionRingFollow(t *testing.T) {
	r := admin.NewDecisionRing(1 << 10)
	fmt.Fprintf(r, "{\"n\":0}\n")
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/decisions?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for i := range 3 {
		if i > 0 {
			fmt.Fprintf(r, "{\"n\":%d}\n", i)
		}
		if !lines.Scan() || lines.Text() != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("line %d: %q, %v", i, lines.Text(), lines.Err())
		}
	}
	if n := r.Followers(); n != 1 {
		t.Errorf("%d followers, want 1", n)
	}
}

// TestDecisionRingFollowBounds: followers past the cap get 503, and a follower
// that stops reading is dropped after the write timeout instead of holding the
// proxy, while the ring keeps taking decisions.
func TestDecisionRingFollowBounds(t *testing.T) {
	r := admin.NewDecisionRing(64<<10, admin.WithMaxFollowers(1), admin.WithFollowWriteTimeout(200*time.Millisecond))
	srv := httptest.NewServer(r)
	defer srv.Close()
	stalled, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fmt.Fprintf(stalled, "GET /debug/decisions?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n") // then never reads
	support.Eventually(t, "the stalled follower to be counted", func() bool { return r.Followers() == 1 })

	resp, err := http.Get(srv.URL + "/debug/decisions?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second follower: %s, want 503 (cap 1)", resp.Status)
	}

	line := []byte(`{"decision":"` + strings.Repeat("x", 1000) + "\"}\n")
	start := time.Now()
	for r.Followers() > 0 { // fill the socket buffers until the write deadline fires
		if time.Since(start) > 20*time.Second {
			t.Fatal("stalled follower still held after 20s")
		}
		for range 1000 {
			r.Write(line)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.Bytes() > 64<<10 {
		t.Errorf("ring holds %d bytes, cap %d", r.Bytes(), 64<<10)
	}
	resp, err = http.Get(srv.URL + "/debug/decisions?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("follower after the stalled one left: %s, want 200", resp.Status)
	}
}
