package inbound

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the inbound counters; a nil *metrics counts nothing.
type metrics struct {
	decisions *prometheus.CounterVec // protocol, decision
	refused   *prometheus.CounterVec // protocol, status
	upstream  *prometheus.CounterVec // protocol
	conns     *prometheus.CounterVec // listener, reason: connections refused
	open      *prometheus.GaugeVec   // listener: connections open

	// allowed and denied are the decision counters of each protocol, looked up
	// once: WithLabelValues hashes its labels on every call, and decisions are
	// counted on every request. (Their series show from the start, at zero.)
	allowed, denied map[string]prometheus.Counter
}

func newMetrics(r prometheus.Registerer) (*metrics, error) {
	if r == nil {
		return nil, nil
	}
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_inbound_decisions_total",
			Help: "Authorization decisions on inbound requests (http1, h2) and connections (tcp).",
		}, []string{"protocol", "decision"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_inbound_refused_total",
			Help: "Inbound requests refused before policy (malformed, limits, tunnel target).",
		}, []string{"protocol", "status"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_inbound_upstream_errors_total",
			Help: "Allowed requests or connections the app could not be reached for.",
		}, []string{"protocol"}),
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_inbound_connections_refused_total",
			Help: "Inbound connections closed unserved: listener_limit, peer_limit (address or SPIFFE ID), memory (near the memory limit).",
		}, []string{"listener", "reason"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_inbound_connections_open",
			Help: "Inbound connections open, per listener (plaintext, hbone).",
		}, []string{"listener"}),
	}
	for _, c := range []prometheus.Collector{m.decisions, m.refused, m.upstream, m.conns, m.open} {
		if err := r.Register(c); err != nil {
			return nil, fmt.Errorf("inbound: register metrics: %w", err)
		}
	}
	m.allowed, m.denied = map[string]prometheus.Counter{}, map[string]prometheus.Counter{}
	for _, p := range []string{"http1", "h2", "tcp"} { // the protocol label's values
		m.allowed[p] = m.decisions.WithLabelValues(p, "allow")
		m.denied[p] = m.decisions.WithLabelValues(p, "deny")
	}
	return m, nil
}

func (m *metrics) decision(protocol string, allowed bool) {
	if m == nil {
		return
	}
	counters := m.denied
	if allowed {
		counters = m.allowed
	}
	if c, ok := counters[protocol]; ok {
		c.Inc()
		return
	}
	d := "deny"
	if allowed {
		d = "allow"
	}
	m.decisions.WithLabelValues(protocol, d).Inc()
}

func (m *metrics) refuse(protocol string, status int) {
	if m != nil {
		m.refused.WithLabelValues(protocol, strconv.Itoa(status)).Inc()
	}
}

func (m *metrics) upstreamError(protocol string) {
	if m != nil {
		m.upstream.WithLabelValues(protocol).Inc()
	}
}

func (m *metrics) refuseConn(listener, reason string) {
	if m != nil {
		m.conns.WithLabelValues(listener, reason).Inc()
	}
}

// opened adds d (+1 or -1) to the open connections of listener.
func (m *metrics) opened(listener string, d float64) {
	if m != nil {
		m.open.WithLabelValues(listener).Add(d)
	}
}
