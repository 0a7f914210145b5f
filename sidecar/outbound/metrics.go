package outbound

import "github.com/prometheus/client_golang/prometheus"

// metrics are the outbound counters. They are created even without a Registerer
// so the code never checks for nil.
type metrics struct {
	connections *prometheus.CounterVec // by kind (hbone, passthrough, check) and result
	active      prometheus.Gauge
	handshakes  *prometheus.CounterVec // by result
	poolSize    prometheus.Gauge
	connectTime prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "rampart_connections_total",
			Help:        "Connections handled, by direction, kind (hbone, passthrough, check) and result.",
			ConstLabels: prometheus.Labels{"direction": "outbound"},
		}, []string{"kind", "result"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_outbound_active_connections", Help: "App connections open through the outbound proxy.",
		}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_outbound_tls_handshakes_total",
			Help: "mTLS handshakes with destination proxies, by result (ok, refused, connect_error).",
		}, []string{"result"}),
		poolSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_outbound_pool_connections", Help: "Pooled HBONE connections to destination proxies.",
		}),
		connectTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "rampart_outbound_connect_seconds",
			Help:    "Time to open a tunnel stream or passthrough connection.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 5},
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.active, m.handshakes, m.poolSize, m.connectTime} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
