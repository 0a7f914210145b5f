package replay_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rampart-mesh/rampart/rego"
)

var update = flag.Bool("update", false, "rewrite testdata/starwars.log from the traffic below")

// observeBundle allows everything: the Star Wars cluster before any policy, its
// proxies only recording decisions.
var observeBundle = fstest.MapFS{
	".manifest":    {Data: []byte(`{"revision": "observe-only", "roots": ["rampart"]}`)},
	"observe.rego": {Data: []byte("package rampart.authz\n\nallow := true\n")},
}

type ship struct{ sa, org, class, ip, app string }

var (
	tiefighter = ship{"tiefighter", "empire", "tiefighter", "198.18.0.2", ""}
	ops        = ship{"ops", "empire", "ops", "198.18.0.4", ""}
	deathstar  = ship{"deathstar", "empire", "deathstar", "198.18.0.3", "deathstar"}
)

func (s ship) peer(port int) rego.Peer {
	labels := map[string]string{"org": s.org, "class": s.class, "pod-template-hash": "7d4f9c"}
	if s.app != "" {
		labels["app"] = s.app
	}
	return rego.Peer{Principal: "spiffe://cluster.local/ns/default/sa/" + s.sa, Labels: labels,
		Address: fmt.Sprintf("%s:%d", s.ip, port)}
}

func request(from ship, method, path string, port int) *rego.Input {
	return &rego.Input{Source: from.peer(port), Destination: deathstar.peer(80),
		Request: &rego.Request{Method: method, Path: path, Host: "deathstar.default.svc.cluster.local",
			Scheme: "http", Protocol: "HTTP/1.1", Headers: map[string]string{"user-agent": "curl/8.0"}}}
}

// starwarsTraffic is what the observed log records: tiefighters landing and
// reading their landing records by number or UUID, the ops team reading the
// deathstar's status and fetching plans by digest.
func starwarsTraffic() []*rego.Input {
	var out []*rego.Input
	for i := range 40 {
		port := 40000 + i%4
		out = append(out, request(tiefighter, "POST", fmt.Sprintf("/v1/request-landing?bay=%d", i%3), port))
		if i%4 == 0 {
			out = append(out, request(tiefighter, "GET", fmt.Sprintf("/v1/landings/%d", 1000+i), port))
		}
		if i%8 == 1 {
			out = append(out, request(tiefighter, "GET", fmt.Sprintf("/v1/landings/6f1c2a%02d-3b7e-4c1d-9a55-0e8b2f4d%04d", i, i), port))
		}
		if i%10 == 2 {
			out = append(out, request(ops, "GET", "/v1/", 41000+i))
			out = append(out, request(ops, "GET", fmt.Sprintf("/v1/plans/%x", 0xdeadbeef00c0ffee+uint64(i)), 41000+i))
		}
	}
	return out
}

// TestStarwarsLog keeps testdata/starwars.log the decision log of
// starwarsTraffic, as written by the engine's own decision logger.
func TestStarwarsLog(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	e, err := rego.New(rego.WithDecisionLog(&buf), rego.WithClock(func() time.Time {
		clock = clock.Add(250 * time.Millisecond)
		return clock
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.LoadFS(context.Background(), "main", observeBundle); err != nil {
		t.Fatal(err)
	}
	traffic := starwarsTraffic()
	for _, in := range traffic {
		if !e.Decide(context.Background(), in).Allowed {
			t.Fatal("observe-only denied")
		}
	}
	checkLog(t, "testdata/starwars.log", buf.Bytes(), len(traffic))
}

// TestStarwarsShadowLog keeps testdata/starwars-shadow.log: the proxies still
// allow everything while the reviewed suggestion (rego/suggest/testdata/starwars)
// runs as their shadow bundle, and an xwing and a tiefighter try what was never
// observed.
func TestStarwarsShadowLog(t *testing.T) {
	ctx := context.Background()
	shadow, err := rego.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := shadow.LoadDir(ctx, "main", "../suggest/testdata/starwars"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	clock := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	e, err := rego.New(rego.WithShadow(shadow), rego.WithDecisionLog(&buf), rego.WithClock(func() time.Time {
		clock = clock.Add(250 * time.Millisecond)
		return clock
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.LoadFS(ctx, "main", observeBundle); err != nil {
		t.Fatal(err)
	}
	xwing := ship{"xwing", "alliance", "xwing", "198.18.0.5", ""}
	traffic := append(starwarsTraffic()[:8], request(xwing, "POST", "/v1/request-landing", 42000),
		request(tiefighter, "PUT", "/v1/exhaust-port", 40001))
	disagree := 0
	for _, in := range traffic {
		if d := e.Decide(ctx, in); d.Shadow == nil || !d.Shadow.Allowed {
			disagree++
		}
	}
	if disagree != 2 {
		t.Fatalf("the shadow disagreed %d times, want 2 (xwing, exhaust port)", disagree)
	}
	checkLog(t, "testdata/starwars-shadow.log", buf.Bytes(), len(traffic))
}

func checkLog(t *testing.T, file string, log []byte, n int) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, log, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(have, []byte("\n")); got != n {
		t.Errorf("%s has %d lines, the traffic %d: run go test -run TestStarwars -update", file, got, n)
	}
}
