package inbound

import (
	"crypto/tls"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/sidecar/httpx"

	"github.com/rampart-mesh/rampart/sidecar/contract"
)

// Mode says what the plaintext listener does with a connection.
type Mode int

const (
	// Strict refuses plaintext connections: only mTLS (HBONE) peers get in.
	Strict Mode = iota
	// Permissive authorizes plaintext connections as an unauthenticated peer
	// (principal "", no labels).
	Permissive
)

// Options configure a Server. Every field is documented with its default; the zero
// value of a field means "use the default" (setDefaults).
type Options struct {
	// Authorizer decides every request and every L4 connection. Required.
	Authorizer Authorizer
	// Logger receives connection errors and one line per refused request.
	// Default: discarded.
	Logger *slog.Logger
	// Registerer receives the inbound counters. Default: none kept.
	Registerer prometheus.Registerer
	// Mode of the plaintext listener. Default Strict.
	Mode Mode
	// Upstream, when set, is the one address ("host:port") every allowed connection
	// is forwarded to (rampart-proxy --upstream). Default: 127.0.0.1 and the
	// connection's destination port, as in a pod.
	Upstream string
	// HTTP1Ports are app ports known to speak only HTTP/1.1: HTTP/2 clients are
	// downgraded to them without probing. Default: none; every other port's protocol
	// is learned by one probe (downgrade.go).
	HTTP1Ports []uint16
	// LocalID is this proxy's SPIFFE ID: destination.principal and the By= of
	// x-forwarded-client-cert. Default "".
	LocalID string
	// LocalLabels are this pod's labels: destination.labels.
	LocalLabels map[string]string
	// PodIPs are this pod's addresses. When set, a tunnel to any other address is
	// refused (403), so destination.address is never chosen by the peer.
	// Default: any address (the proxy dials 127.0.0.1 regardless).
	PodIPs []netip.Addr
	// Workloads resolves peer addresses to pods for source.labels. Default: none
	// (no source labels).
	Workloads WorkloadResolver
	// TLS is the HBONE listener's server config (identity.ServerConfig): it must
	// require and verify client SVIDs. Required for ServeHBONE.
	TLS *tls.Config
	// HTTP bounds and shapes request parsing (header/body limits, slash rule).
	HTTP httpx.Config
	// Timeouts; see Timeouts.
	Timeouts Timeouts
	// MaxConcurrentStreams bounds streams per HTTP/2 connection (HBONE and h2c).
	// Default 100.
	MaxConcurrentStreams uint32
	// MaxIdleUpstream bounds idle pooled HTTP/1.1 connections per upstream address.
	// Default 64.
	MaxIdleUpstream int
	// Limits bound connections per listener and per peer, and refuse new work
	// near the memory limit; see Limits.
	Limits Limits
	// StreamBodies forwards every request body as it arrives, as Envoy does, instead
	// of reading up to 16 KiB of it before the app is dialed (the default, as nginx
	// and HAProxy buffer; see bodyfirst.go). Turn it on for apps whose clients stream
	// small request bodies interactively (a chunked or HTTP/2 body that waits for
	// answers between its parts): with buffering such a body is answered 408 when
	// 16 KiB have not arrived within Timeouts.ReadHeader. gRPC always streams.
	StreamBodies bool
	// Gateway, when set, makes this proxy the egress gateway: every CONNECT
	// stream on the HBONE listener is its peer's connection to an address
	// outside the mesh, decided and dialled by Gateway with the peer's SPIFFE ID
	// and labels (Workloads) as the source, instead of forwarded to a local app.
	// Default: none.
	Gateway Gateway
	// ReservedPorts are never reachable through a tunnel or forwarded to: the
	// proxy's own ports. Default 15000, 15001, 15006, 15008, 15020, 15090.
	ReservedPorts []uint16
}

// Timeouts bound every wait so no peer can hold a connection forever.
type Timeouts struct {
	// Sniff is how long to wait for a client's first bytes before treating the
	// connection as a server-first L4 protocol. Default 200ms.
	Sniff time.Duration
	// ReadHeader bounds reading one request head. Default 10s.
	ReadHeader time.Duration
	// Idle bounds the wait for the next request on a kept-alive connection and any
	// silence while a body streams. Default 90s.
	Idle time.Duration
	// Dial bounds connecting to the app. Default 5s.
	Dial time.Duration
	// Response bounds the wait for the app's response head (HTTP/1.1 and HTTP/2)
	// and, over HTTP/1.1, any silence while its body streams. Default 60s.
	Response time.Duration
	// StreamIdle bounds silence on an opaque (L4) or upgraded connection.
	// Default 1h.
	StreamIdle time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.HTTP = o.HTTP.WithDefaults()
	o.Timeouts.setDefaults()
	o.Limits.setDefaults()
	if o.MaxConcurrentStreams == 0 {
		o.MaxConcurrentStreams = 100
	}
	if o.MaxIdleUpstream == 0 {
		o.MaxIdleUpstream = 64
	}
	if o.ReservedPorts == nil {
		o.ReservedPorts = []uint16{15000, contract.OutboundPort, contract.PlaintextPort, contract.HBONEPort, contract.AdminPort, 15090}
	}
}

func (t *Timeouts) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Sniff, 200*time.Millisecond)
	def(&t.ReadHeader, 10*time.Second)
	def(&t.Idle, 90*time.Second)
	def(&t.Dial, 5*time.Second)
	def(&t.Response, 60*time.Second)
	def(&t.StreamIdle, time.Hour)
}

// String is the mode's name as rampart-proxy --mode takes it.
func (m Mode) String() string {
	switch m {
	case Strict:
		return "STRICT"
	case Permissive:
		return "PERMISSIVE"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// MarshalText shows the mode by name in /debug/config and logs.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }
