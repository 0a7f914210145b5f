package demo

import (
	"context"
	"fmt"
	"strings"
)

// Step is one request of the scenario and what came of it.
type Step struct {
	Caller   string // pod name
	Method   string
	Path     string
	Target   string // "deathstar (VIP)" or a pod IP
	Unmeshed bool   // the caller has no proxy: its request is plaintext
	Result   Result
	Decision *Decision // the deathstar proxy's decision, nil when none was made
}

// Outcome is the step's result in a few words, e.g. "200 Ship landed".
func (s Step) Outcome() string {
	r := s.Result
	if r.Failed() {
		return "refused: " + shortErr(r.Err)
	}
	body := strings.TrimSpace(r.Body)
	if first, _, cut := strings.Cut(body, "\n"); cut {
		body = first + " ..."
	}
	return fmt.Sprintf("%d %s", r.Status, body)
}

// Why is the decision's reason, or why no decision was made.
func (s Step) Why() string {
	switch {
	case s.Decision == nil && s.Result.Failed() && s.Unmeshed:
		return "no decision: plaintext refused in STRICT mode"
	case s.Decision == nil && s.Result.Failed():
		return "no decision: the connection failed"
	case s.Decision == nil:
		return "no decision logged"
	case s.Decision.Allowed && s.Decision.Reason == "":
		return "allowed by policy"
	case s.Decision.Source == "":
		return s.Decision.Reason + " (unauthenticated peer)"
	}
	return s.Decision.Reason
}

// shortErr names a connection failure in a few words; the Go client words the
// same event (a peer closing before answering) several ways.
func shortErr(e string) string {
	for _, closed := range []string{"connection reset by peer", "EOF", "server closed idle connection"} {
		if strings.Contains(e, closed) {
			return "closed unanswered"
		}
	}
	for _, known := range []string{"connection refused", "timeout"} {
		if strings.Contains(e, known) {
			return known
		}
	}
	return e
}

// Do sends one request from a client and pairs it with the decision the deathstar
// proxies logged for it. Requests must not run concurrently with Do.
func (sw *StarWars) Do(c *Client, method, url, target string) (Step, error) {
	before, err := sw.Decisions()
	if err != nil {
		return Step{}, err
	}
	r, err := c.Do(method, url)
	if err != nil {
		return Step{}, err
	}
	st := Step{Caller: c.Pod.Name, Method: method, Path: pathOf(url), Target: target, Result: r,
		Unmeshed: c.Pod.Proxy() == nil}
	// The proxy logs before it answers, so the line is there once the answer is.
	after, err := sw.Decisions()
	if err != nil {
		return Step{}, err
	}
	if len(after) > len(before) {
		d := newest(before, after)
		st.Decision = &d
	}
	return st, nil
}

// newest returns a decision of after that is not in before.
func newest(before, after []Decision) Decision {
	seen := map[string]bool{}
	for _, d := range before {
		seen[d.ID] = true
	}
	for i := len(after) - 1; i >= 0; i-- {
		if !seen[after[i].ID] {
			return after[i]
		}
	}
	return after[len(after)-1]
}

func pathOf(url string) string {
	rest := strings.TrimPrefix(url, "http://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

// Tour runs the demo's requests in order and returns the steps; it stops early
// when ctx ends.
func (sw *StarWars) Tour(ctx context.Context) ([]Step, error) {
	landing, exhaust := "/v1/request-landing", "/v1/exhaust-port"
	plan := []struct {
		c            *Client
		method, path string
		pod          bool
	}{
		{sw.Tiefighter, "POST", landing, false},
		{sw.Tiefighter, "PUT", exhaust, false},
		{sw.Xwing, "POST", landing, false},
		{sw.Xwing, "PUT", exhaust, false},
		{sw.Smuggler, "POST", landing, true},
	}
	var steps []Step
	for _, p := range plan {
		if err := ctx.Err(); err != nil {
			return steps, err
		}
		url, target := sw.ServiceURL(p.path), "deathstar VIP "+DeathstarVIP.String()
		if p.pod {
			url, target = sw.PodURL(p.path), "pod "+sw.Deathstar[0].IP.String()
		}
		st, err := sw.Do(p.c, p.method, url, target)
		if err != nil {
			return steps, err
		}
		steps = append(steps, st)
	}
	return steps, nil
}
