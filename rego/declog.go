package rego

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// decisionLogger writes one JSON line per decision with OPA's decision-log fields,
// plus a "rampart" object holding what the proxy did with the decision.
type decisionLogger struct {
	mu   sync.Mutex // one writer, whole lines
	w    io.Writer
	enc  *json.Encoder
	mask []string
}

func newDecisionLogger(w io.Writer, mask []string) *decisionLogger {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &decisionLogger{w: w, enc: enc, mask: mask}
}

// logEntry mirrors OPA's decision-log event (server/types.DecisionLogEvent's JSON).
type logEntry struct {
	DecisionID string                    `json:"decision_id"`
	Path       string                    `json:"path"`
	Input      any                       `json:"input"`
	Result     any                       `json:"result,omitempty"`
	Error      string                    `json:"error,omitempty"`
	Bundles    map[string]bundleRevision `json:"bundles,omitempty"`
	Erased     []string                  `json:"erased,omitempty"`
	Timestamp  time.Time                 `json:"timestamp"`
	Metrics    map[string]int64          `json:"metrics"`
	Rampart    logDecision               `json:"rampart"`
}

type bundleRevision struct {
	Revision string `json:"revision"`
}

type logDecision struct {
	Allowed    bool   `json:"allowed"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Reason     string `json:"reason,omitempty"`
	DryRun     bool   `json:"dry_run,omitempty"`
}

func (l *decisionLogger) write(now time.Time, path string, in *Input, result ast.Value, err error, d Decision, rev *revision, took time.Duration) {
	masked, erased := l.masked(in)
	e := logEntry{
		DecisionID: d.ID,
		Path:       path, // OPA writes the rule path without "data.", slash separated
		Input:      toJSON(masked.AST()),
		Erased:     erased,
		Timestamp:  now.UTC(),
		Metrics:    map[string]int64{"timer_rego_query_eval_ns": took.Nanoseconds()},
		Rampart:    logDecision{Allowed: d.Allowed, Reason: d.Reason, DryRun: d.DryRun},
	}
	if !d.Allowed {
		e.Rampart.HTTPStatus = d.HTTPStatus
	}
	if result != nil {
		e.Result = toJSON(result)
	}
	if err != nil {
		e.Error = err.Error()
	}
	if rev != nil {
		e.Bundles = make(map[string]bundleRevision, len(rev.revisions))
		for name, r := range rev.revisions {
			e.Bundles[name] = bundleRevision{Revision: r}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.enc.Encode(e) // a broken log sink must not change decisions
}

// masked returns in without the sensitive headers, and the erased paths in OPA's
// notation. The caller's Input is never modified.
func (l *decisionLogger) masked(in *Input) (*Input, []string) {
	if in == nil || in.Request == nil {
		return in, nil
	}
	var erased []string
	var headers map[string]string
	for _, h := range l.mask {
		if _, ok := in.Request.Headers[h]; !ok {
			continue
		}
		if headers == nil {
			headers = make(map[string]string, len(in.Request.Headers))
			for k, v := range in.Request.Headers {
				headers[k] = v
			}
		}
		delete(headers, h)
		erased = append(erased, "/input/attributes/request/http/headers/"+h)
	}
	if headers == nil {
		return in, nil
	}
	cp, req := *in, *in.Request
	req.Headers, cp.Request = headers, &req
	return &cp, erased
}

func toJSON(v ast.Value) any {
	j, err := ast.JSON(v)
	if err != nil {
		return v.String()
	}
	return j
}
