package egress

import (
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/rego"
)

// metrics counts egress decisions by protocol, result and host. Host values are
// bounded: past max distinct hosts, new ones are counted as "other".
type metrics struct {
	decisions *prometheus.CounterVec
	max       int

	mu    sync.Mutex
	hosts map[string]struct{}
}

func newMetrics(reg prometheus.Registerer, max int) (*metrics, error) {
	m := &metrics{max: max, hosts: map[string]struct{}{},
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_egress_decisions_total",
			Help: "Egress decisions by protocol (http, tls, tcp), result (allow, deny, gateway: sent to the egress gateway, which decides) and host (HTTP Host or TLS SNI; the address when there is none; \"other\" past the bound of distinct hosts).",
		}, []string{"protocol", "result", "host"}),
	}
	if reg != nil {
		if err := reg.Register(m.decisions); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) decided(in *rego.EgressInput, d rego.Decision) {
	result := "deny"
	if d.Allowed {
		result = "allow"
	}
	m.decisions.WithLabelValues(in.Destination.Protocol, result, m.host(in)).Inc()
}

// gateway counts a connection routed to the egress gateway.
func (m *metrics) gateway(in *rego.EgressInput) {
	m.decisions.WithLabelValues(in.Destination.Protocol, "gateway", m.host(in)).Inc()
}

// host is the label for in: the host, else the SNI, else the address.
func (m *metrics) host(in *rego.EgressInput) string {
	h := in.Destination.Host
	if h == "" {
		h = in.Destination.SNI
	}
	if h == "" {
		h = in.Destination.IP
	}
	if !utf8.ValidString(h) {
		h = "invalid" // a refused Host of raw bytes: label values must be UTF-8
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.hosts[h]; ok {
		return h
	}
	if len(m.hosts) >= m.max {
		return "other"
	}
	m.hosts[h] = struct{}{}
	return h
}
