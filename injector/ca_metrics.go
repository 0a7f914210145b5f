package injector

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// caMetrics counts the CA's answers. A nil *caMetrics records nothing.
type caMetrics struct {
	requests *prometheus.CounterVec
	latency  prometheus.Histogram
}

// newCAMetrics registers, with reg (nothing when nil):
//
//	rampart_ca_requests_total{result}   "signed" or the refusal reason
//	rampart_ca_sign_duration_seconds    time to answer a signed request (review included)
func newCAMetrics(reg prometheus.Registerer) (*caMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &caMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_ca_requests_total",
			Help: "CSRs answered by the cluster CA, by result: signed, or the reason of the refusal.",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "rampart_ca_sign_duration_seconds",
			Help:    "Time from request to signed answer, TokenReview included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register CA metrics: %w", err)
		}
	}
	return m, nil
}

func (m *caMetrics) count(result string) {
	if m != nil {
		m.requests.WithLabelValues(result).Inc()
	}
}

func (m *caMetrics) signed(d time.Duration) {
	if m != nil {
		m.requests.WithLabelValues(resultSigned).Inc()
		m.latency.Observe(d.Seconds())
	}
}
