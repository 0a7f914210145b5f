package rego

import "context"

// ShadowVerdict is what a shadow engine (a candidate bundle run beside the active
// one, see WithShadow) decided for the same input. It is never enforced.
type ShadowVerdict struct {
	Allowed  bool   `json:"allowed"` // the shadow policy allowed (its own dry-run does not count)
	Revision string `json:"revision,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Shadow disagreement directions, as the metric labels them.
const (
	ShadowAllowToDeny = "allow_to_deny" // active allowed, the shadow would deny
	ShadowDenyToAllow = "deny_to_allow" // active denied, the shadow would allow
)

// WithShadow has every decision also taken by shadow, an engine holding a
// candidate bundle: only this engine's decision is enforced. The shadow verdict is
// in Decision.Shadow and in the decision log ("rampart": {"shadow": ...}), and
// each disagreement is counted in rampart_policy_shadow_disagreements_total
// {direction} and logged. shadow should log and count nothing itself (no
// WithDecisionLog, no WithMetrics). Bodies reach the shadow only when this
// engine's policy reads them.
func WithShadow(shadow *Engine) Option { return func(o *options) { o.shadow = shadow } }

// Shadow returns the engine given to WithShadow, or nil.
func (e *Engine) Shadow() *Engine { return e.opts.shadow }

// shadowDecide decides in with the shadow engine and reports a disagreement with
// the active decision d (compared as policy verdicts: a dry-run allow is a deny).
func (e *Engine) shadowDecide(ctx context.Context, in *Input, d *Decision) {
	sd := e.opts.shadow.Decide(ctx, in)
	v := &ShadowVerdict{Allowed: sd.Allowed && !sd.DryRun, Revision: sd.Revision, Reason: sd.Reason}
	d.Shadow = v
	active := d.Allowed && !d.DryRun
	if active == v.Allowed {
		return
	}
	dir := ShadowDenyToAllow
	if active {
		dir = ShadowAllowToDeny
	}
	e.metrics.disagreed(dir)
	attrs := []any{"direction", dir, "decision_id", d.ID, "active_revision", d.Revision,
		"shadow_revision", v.Revision, "shadow_reason", v.Reason,
		"source", in.Source.Principal, "source_address", in.Source.Address, "destination", in.Destination.Address}
	if in.Request != nil {
		attrs = append(attrs, "method", in.Request.Method, "path", in.Request.Path, "host", in.Request.Host)
	}
	e.opts.logger.InfoContext(ctx, "shadow bundle disagrees", attrs...)
}
