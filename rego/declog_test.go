package rego_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
)

func TestDecisionLog(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	e := newEngine(t, rego.WithDecisionLog(&buf), rego.WithClock(func() time.Time { return at }))
	ctx := context.Background()
	denied := e.Decide(ctx, tiefighterLands()) // no bundle yet
	if err := e.LoadDir(ctx, "main", starwarsDir); err != nil {
		t.Fatal(err)
	}
	in := tiefighterLands()
	in.Request.Headers = map[string]string{"authorization": "Bearer secret", "cookie": "c=1", "x-trace": "abc"}
	allowed := e.Decide(ctx, in)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per decision:\n%s", len(lines), buf.String())
	}
	if strings.Contains(buf.String(), "secret") || strings.Contains(buf.String(), "c=1") {
		t.Errorf("sensitive header values leaked into the log:\n%s", buf.String())
	}
	first, second := parseLine(t, lines[0]), parseLine(t, lines[1])
	if first.DecisionID != denied.ID || first.Error != "no policy bundle loaded" || first.Rampart.Allowed || first.Rampart.HTTPStatus != 403 {
		t.Errorf("first line %+v, want the no-bundle deny %s", first, denied.ID)
	}
	if second.DecisionID != allowed.ID || second.Path != "rampart/authz/allow" || second.Result != true ||
		second.Bundles["main"].Revision != "starwars-v1" || !second.Timestamp.Equal(at) || !second.Rampart.Allowed {
		t.Errorf("second line %+v", second)
	}
	if _, ok := second.Metrics["timer_rego_query_eval_ns"]; !ok {
		t.Error("no eval duration in metrics")
	}
	wantErased := []string{"/input/attributes/request/http/headers/authorization", "/input/attributes/request/http/headers/cookie"}
	if strings.Join(second.Erased, ",") != strings.Join(wantErased, ",") {
		t.Errorf("erased = %v, want %v", second.Erased, wantErased)
	}
	headers := second.Input["attributes"].(map[string]any)["request"].(map[string]any)["http"].(map[string]any)["headers"].(map[string]any)
	if headers["x-trace"] != "abc" || headers["authorization"] != nil {
		t.Errorf("logged headers = %v, want x-trace kept and authorization erased", headers)
	}
	if in.Request.Headers["authorization"] != "Bearer secret" {
		t.Error("masking modified the caller's input")
	}
}

type logLine struct {
	DecisionID string                               `json:"decision_id"`
	Path       string                               `json:"path"`
	Input      map[string]any                       `json:"input"`
	Result     any                                  `json:"result"`
	Error      string                               `json:"error"`
	Bundles    map[string]struct{ Revision string } `json:"bundles"`
	Erased     []string                             `json:"erased"`
	Timestamp  time.Time                            `json:"timestamp"`
	Metrics    map[string]int64                     `json:"metrics"`
	Rampart    struct {
		Allowed    bool   `json:"allowed"`
		HTTPStatus int    `json:"http_status"`
		Reason     string `json:"reason"`
		DryRun     bool   `json:"dry_run"`
	} `json:"rampart"`
}

func parseLine(t *testing.T, line string) logLine {
	t.Helper()
	var l logLine
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	return l
}

// TestDecisionLogMaskedHeaders checks that WithMaskedHeaders replaces the default
// set, whatever the case the names are given in.
func TestDecisionLogMaskedHeaders(t *testing.T) {
	var buf bytes.Buffer
	e := newEngine(t, rego.WithDecisionLog(&buf), rego.WithMaskedHeaders("X-Api-Key"))
	ctx := context.Background()
	if err := e.LoadDir(ctx, "main", starwarsDir); err != nil {
		t.Fatal(err)
	}
	in := tiefighterLands()
	in.Request.Headers = map[string]string{"x-api-key": "k-secret", "authorization": "Bearer visible"}
	e.Decide(ctx, in)
	line := parseLine(t, strings.TrimSpace(buf.String()))
	if strings.Contains(buf.String(), "k-secret") {
		t.Errorf("x-api-key given as X-Api-Key was not masked:\n%s", buf.String())
	}
	if want := "/input/attributes/request/http/headers/x-api-key"; strings.Join(line.Erased, ",") != want {
		t.Errorf("erased = %v, want [%s]", line.Erased, want)
	}
	if !strings.Contains(buf.String(), "Bearer visible") {
		t.Error("authorization was masked although WithMaskedHeaders replaced the default set")
	}
}
