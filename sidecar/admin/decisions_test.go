package admin_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/admin"
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
