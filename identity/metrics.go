package identity

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// Metrics records identity health. A nil *Metrics records nothing, so every option
// struct can leave it unset.
type Metrics struct {
	expiry    *prometheus.GaugeVec
	rotations *prometheus.CounterVec
	failures  *prometheus.CounterVec
}

// Sides of a handshake, the "side" label of handshake failures.
const (
	sideServer = "server"
	sideClient = "client"
)

// NewMetrics creates the identity metrics and registers them with reg:
//
//	rampart_identity_svid_expiry_timestamp_seconds{spiffe_id,source}
//	rampart_identity_svid_rotations_total{spiffe_id,source}
//	rampart_identity_handshake_failures_total{side,reason}
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_identity_svid_expiry_timestamp_seconds",
			Help: "NotAfter of the current X.509 SVID, in Unix seconds.",
		}, []string{"spiffe_id", "source"}),
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_identity_svid_rotations_total",
			Help: "Times the current X.509 SVID was replaced by a new one.",
		}, []string{"spiffe_id", "source"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_identity_handshake_failures_total",
			Help: "Refused or failed mTLS handshakes by side and reason (see identity.Reason).",
		}, []string{"side", "reason"}),
	}
	for _, c := range []prometheus.Collector{m.expiry, m.rotations, m.failures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register identity metrics: %w", err)
		}
	}
	return m, nil
}

// ObserveHandshake counts a failed handshake that the TLS callbacks did not already
// count: call it with the error of tls.Conn.HandshakeContext on connections made with
// ServerConfig/ClientConfig (for example the client side of a refusal, or a client
// that sent no certificate). server tells which side conn is. nil errors are ignored.
func (m *Metrics) ObserveHandshake(server bool, err error) {
	if m == nil || err == nil || countedByCallback(err) {
		return
	}
	side := sideClient
	if server {
		side = sideServer
	}
	m.failures.WithLabelValues(side, Reason(err)).Inc()
}

func (m *Metrics) handshakeFailed(side string, err error) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(side, Reason(err)).Inc()
}

func (m *Metrics) svidUpdated(source string, svid *x509svid.SVID, rotated bool) {
	if m == nil || svid == nil || len(svid.Certificates) == 0 {
		return
	}
	id := svid.ID.String()
	m.expiry.WithLabelValues(id, source).Set(float64(svid.Certificates[0].NotAfter.Unix()))
	if rotated {
		m.rotations.WithLabelValues(id, source).Inc()
	}
}

// countedByCallback reports whether err came from one of our callbacks, which count
// their own failures.
func countedByCallback(err error) bool {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return true
		}
	}
	return false
}
