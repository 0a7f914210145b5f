package rego

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// engineMetrics holds the engine's collectors. A nil *engineMetrics (no registerer
// given) records nothing, so the hot path pays only a nil check.
type engineMetrics struct {
	allow, deny, dryRunDeny, failure prometheus.Counter
	latency                          prometheus.Histogram
	loads                            *prometheus.CounterVec
	revision                         *prometheus.GaugeVec
	shadow                           *prometheus.CounterVec
}

func newEngineMetrics(reg prometheus.Registerer) (*engineMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rampart_policy_decisions_total",
		Help: "Policy decisions by result: allow, deny, dry_run_deny (denied by policy, let through by dry-run) or error (no bundle, evaluation error, timeout).",
	}, []string{"result"})
	m := &engineMetrics{
		allow:      decisions.WithLabelValues("allow"),
		deny:       decisions.WithLabelValues("deny"),
		dryRunDeny: decisions.WithLabelValues("dry_run_deny"),
		failure:    decisions.WithLabelValues("error"),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "rampart_policy_evaluation_duration_seconds",
			Help:    "Time to decide one request, input building and evaluation included.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 2.5, 14), // 1µs .. ~150ms
		}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_policy_bundle_loads_total",
			Help: "Bundle load attempts by bundle and result (success or failure; a failure keeps the last good revision).",
		}, []string{"bundle", "result"}),
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_policy_bundle_active_revision",
			Help: "1 for the active revision of each bundle.",
		}, []string{"bundle", "revision"}),
		shadow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_policy_shadow_disagreements_total",
			Help: "Decisions where the shadow bundle disagreed with the enforced one, by direction: allow_to_deny (the shadow would deny) or deny_to_allow.",
		}, []string{"direction"}),
	}
	for _, c := range []prometheus.Collector{decisions, m.latency, m.loads, m.revision, m.shadow} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *engineMetrics) decided(d Decision, err error, took time.Duration) {
	if m == nil {
		return
	}
	switch {
	case err != nil && !errors.Is(err, ErrUndefined):
		m.failure.Inc()
	case d.DryRun:
		m.dryRunDeny.Inc()
	case d.Allowed:
		m.allow.Inc()
	default:
		m.deny.Inc()
	}
	m.latency.Observe(took.Seconds())
}

func (m *engineMetrics) loaded(name string, rev *revision) {
	if m == nil {
		return
	}
	m.loads.WithLabelValues(name, "success").Inc()
	m.revision.Reset()
	for b, r := range rev.revisions {
		m.revision.WithLabelValues(b, r).Set(1)
	}
}

func (m *engineMetrics) failed(name string) {
	if m == nil {
		return
	}
	m.loads.WithLabelValues(name, "failure").Inc()
}

func (m *engineMetrics) disagreed(direction string) {
	if m == nil {
		return
	}
	m.shadow.WithLabelValues(direction).Inc()
}
