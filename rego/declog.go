package rego

import (
	"encoding/json"
	"io"
	"slices"
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

// logDecision is what the proxy did: the outcome, and on an allow what it changed in
// the forwarded request and the response (values of masked headers are masked).
type logDecision struct {
	Allowed                 bool           `json:"allowed"`
	HTTPStatus              int            `json:"http_status,omitempty"`
	Reason                  string         `json:"reason,omitempty"`
	DryRun                  bool           `json:"dry_run,omitempty"`
	Headers                 []Field        `json:"headers,omitempty"`
	RequestHeadersToRemove  []string       `json:"request_headers_to_remove,omitempty"`
	ResponseHeadersToAdd    []Field        `json:"response_headers_to_add,omitempty"`
	QueryParametersToSet    []Field        `json:"query_parameters_to_set,omitempty"`
	QueryParametersToRemove []string       `json:"query_parameters_to_remove,omitempty"`
	DynamicMetadata         map[string]any `json:"dynamic_metadata,omitempty"`
	Shadow                  *ShadowVerdict `json:"shadow,omitempty"`
}

func (l *decisionLogger) outcome(d *Decision) logDecision {
	return logDecision{
		Allowed: d.Allowed, Reason: d.Reason, DryRun: d.DryRun,
		Headers: l.maskFields(d.Headers), RequestHeadersToRemove: d.RequestHeadersToRemove,
		ResponseHeadersToAdd: l.maskFields(d.ResponseHeadersToAdd),
		QueryParametersToSet: d.QueryParametersToSet, QueryParametersToRemove: d.QueryParametersToRemove,
		DynamicMetadata: d.DynamicMetadata, Shadow: d.Shadow,
	}
}

// maskFields replaces the values of masked header names: a policy that sets an
// authorization header for the app must not write the credential to the log.
func (l *decisionLogger) maskFields(fs []Field) []Field {
	var out []Field
	for i, f := range fs {
		if !slices.Contains(l.mask, f.Name) {
			continue
		}
		if out == nil {
			out = slices.Clone(fs)
		}
		out[i].Value = "<masked>"
	}
	if out == nil {
		return fs
	}
	return out
}

func (l *decisionLogger) write(now time.Time, path string, in *Input, result ast.Value, err error, d Decision, rev *revision, took time.Duration) {
	masked, erased := l.masked(in)
	l.emit(now, path, masked.AST(), erased, result, err, d, rev, took)
}

// emit writes one entry whose input (already masked) is input.
func (l *decisionLogger) emit(now time.Time, path string, input ast.Value, erased []string, result ast.Value, err error, d Decision, rev *revision, took time.Duration) {
	e := logEntry{
		DecisionID: d.ID,
		Path:       path, // OPA writes the rule path without "data.", slash separated
		Input:      toJSON(input),
		Erased:     erased,
		Timestamp:  now.UTC(),
		Metrics:    map[string]int64{"timer_rego_query_eval_ns": took.Nanoseconds()},
		Rampart:    l.outcome(&d),
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
