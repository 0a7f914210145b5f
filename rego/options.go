package rego

import (
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultDecision is the rule Decide evaluates unless WithDecision says otherwise.
const DefaultDecision = "data.rampart.authz.allow"

// DefaultTimeout bounds one evaluation unless WithTimeout says otherwise. A policy that
// runs longer is a bug or an attack; either way the request is denied.
const DefaultTimeout = time.Second

// Option configures an Engine; pass any number to New.
type Option func(*options)

type options struct {
	decision     string
	timeout      time.Duration
	dryRun       bool
	decisionLog  io.Writer
	maskHeaders  []string
	logger       *slog.Logger
	registerer   prometheus.Registerer
	verification *bundle.VerificationConfig
	now          func() time.Time
	cacheSize    int  // decisions remembered per revision; ≤ 0: none
	cacheSet     bool // WithDecisionCache was given
	bodyBytes    int  // WithRequestBody: > 0 reads bodies for every bundle
	shadow       *Engine
}

// setDefaults fills every option the caller left unset.
func (o *options) setDefaults() {
	if o.decision == "" {
		o.decision = DefaultDecision
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	if o.maskHeaders == nil {
		o.maskHeaders = []string{"authorization", "cookie", "proxy-authorization"}
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if !o.cacheSet {
		o.cacheSize = DefaultDecisionCache
	}
}

// WithDecision sets the rule to evaluate, e.g. "data.rampart.authz.allow" or, as
// OPA-Envoy's `path` setting spells it, "rampart/authz/allow". Its value
// may be a boolean or an object {allowed, http_status, body, headers, reason}.
func WithDecision(path string) Option { return func(o *options) { o.decision = path } }

// WithDecisionCache sets how many distinct inputs (pruned to the fields the policy
// reads) each bundle revision remembers decisions for; n ≤ 0 turns the cache off.
// Revisions whose policies call a non-deterministic builtin (time.now_ns, http.send,
// rand.intn, ...) are never cached. Default DefaultDecisionCache; at most
// MaxDecisionCache (larger values are clamped: the table is allocated up front).
func WithDecisionCache(n int) Option {
	return func(o *options) { o.cacheSize, o.cacheSet = n, true }
}

// WithRequestBody turns on request bodies in the input for every bundle, as
// OPA-Envoy's with_request_body: the proxy buffers up to maxBytes of a body (≤ 0:
// DefaultRequestBodyBytes; at most MaxRequestBodyBytes) for policies that read it.
// A bundle can opt in on its own through its manifest:
// {"metadata": {"rampart": {"request_body": {"max_bytes": 8192}}}} (or true), and
// its size then wins. Either way BodyPolicy().Read is true only when the compiled
// policy references a body field, so other policies cost nothing.
func WithRequestBody(maxBytes int) Option {
	return func(o *options) {
		if maxBytes <= 0 {
			maxBytes = DefaultRequestBodyBytes
		}
		o.bodyBytes = min(maxBytes, MaxRequestBodyBytes)
	}
}

// WithTimeout bounds each evaluation; a decision that runs longer is denied.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithDryRun makes every policy deny (false, undefined or allowed=false) an allow that
// is still logged and counted as a deny. Engine failures (no bundle, evaluation error,
// timeout) deny even in dry-run. A bundle can ask for dry-run on its own through its
// manifest: {"metadata": {"rampart": {"dry_run": true}}}.
func WithDryRun(on bool) Option { return func(o *options) { o.dryRun = on } }

// WithDecisionLog writes one JSON line per decision to w (OPA decision-log fields).
// Writes are serialized by the engine; w need not be safe for concurrent use.
func WithDecisionLog(w io.Writer) Option { return func(o *options) { o.decisionLog = w } }

// WithMaskedHeaders replaces the request headers whose values the decision log masks
// (default: authorization, cookie, proxy-authorization). Names are matched without
// regard to case: input header names are lower case, and a name given as
// "Authorization" must not silently mask nothing.
func WithMaskedHeaders(names ...string) Option {
	return func(o *options) {
		o.maskHeaders = make([]string, len(names))
		for i, n := range names {
			o.maskHeaders[i] = strings.ToLower(n)
		}
	}
}

// WithLogger sets where bundle loads and failures are logged (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMetrics registers the engine's Prometheus collectors with r. Without it the
// engine keeps no metrics.
func WithMetrics(r prometheus.Registerer) Option { return func(o *options) { o.registerer = r } }

// WithVerification requires every bundle to be signed by a key in vc (OPA's bundle
// signature format). Unsigned or badly signed bundles are refused.
func WithVerification(vc *bundle.VerificationConfig) Option {
	return func(o *options) { o.verification = vc }
}

// WithClock sets the clock used for decision-log timestamps (tests pin it).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }
