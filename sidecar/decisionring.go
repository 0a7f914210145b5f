package sidecar

import (
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/sidecar/admin"
)

// decisionRing keeps the latest decisions for the admin port's /debug/decisions
// (`rampart observe --admin`) when the admin listener is on and a ring size is set, by teeing the
// decision log into a bounded ring whose size is exported as a metric. It
// returns nil (no ring) otherwise.
func decisionRing(opts *Options) (*admin.DecisionRing, error) {
	p := &opts.Policy
	if opts.Admin.Addr == "" || p.DecisionRingBytes <= 0 || p.Authorizer != nil {
		return nil, nil
	}
	ring := admin.NewDecisionRing(p.DecisionRingBytes)
	if p.DecisionLog != nil {
		p.DecisionLog = io.MultiWriter(p.DecisionLog, ring)
	} else {
		p.DecisionLog = ring
	}
	if opts.Registerer != nil {
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rampart_decision_ring_bytes",
			Help: "Bytes of decision-log lines kept in memory for /debug/decisions (rampart observe).",
		}, func() float64 { return float64(ring.Bytes()) })
		if err := opts.Registerer.Register(g); err != nil {
			return nil, err
		}
	}
	return ring, nil
}
