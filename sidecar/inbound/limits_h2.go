package inbound

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/http2"
)

// HTTP/2 flow-control windows: what the proxy will hold of one stream's or one
// connection's data that the other side has not taken yet.
//
// Toward clients (h2c) the proxy advertises h2StreamWindow per stream and
// h2ConnWindow per connection: the most request body it buffers for handlers
// that have not read it. Toward the app (over the pod's loopback, where a small
// window costs little throughput) it advertises h2UpstreamStreamWindow, one
// maximum-size frame, per stream, so an answer the client does not read (zero
// window) stops in the app once 16 KiB of it wait in the proxy: one client
// connection pins at most MaxConcurrentStreams × (16 KiB + an 8 KiB copy buffer +
// two goroutines), where x/net's defaults (4 MiB per stream) let it pin 400 MiB.
// The app-side connection window is no memory bound (the stream windows are:
// every upstream stream serves one client stream, and its data returns to the
// window only as the client takes it) but a fairness one: all clients share the
// upstream connection and an app may allow 1000 streams on it, so it is 256 MiB
// (16 384 stalled streams' worth) and streams stalled by their clients never hold
// all of it, stopping everyone else's answers (test/bench/dos's h2-zero-window
// attack did that to a 32 MiB window with 800 stalled streams: 9 % of other
// clients' requests succeeded; now 100 %, RSS +53 MB).
const (
	h2StreamWindow         = 128 << 10
	h2ConnWindow           = 1 << 20
	h2UpstreamStreamWindow = 16 << 10
	h2UpstreamConnWindow   = 1 << 28
	// h2MaxFrame is the largest frame read (the protocol's minimum): the frame
	// reader's buffer grows to the largest frame a peer sends and stays.
	h2MaxFrame = 16 << 10
)

// newH2Server returns the h2c server: windows and frame size as above.
func newH2Server(o *Options) *http2.Server {
	return &http2.Server{
		MaxConcurrentStreams:         o.MaxConcurrentStreams,
		IdleTimeout:                  o.Timeouts.Idle,
		MaxUploadBufferPerConnection: h2ConnWindow,
		MaxUploadBufferPerStream:     h2StreamWindow,
		MaxReadFrameSize:             h2MaxFrame,
	}
}

// newH2Transport returns the transport toward the app: h2c with prior knowledge,
// receive windows as above. The receive windows can be set only through a
// net/http Transport's HTTP2 config, hence ConfigureTransports; the net/http
// Transport itself is never used to send.
func newH2Transport(t Timeouts) *http2.Transport {
	t1 := &http.Transport{IdleConnTimeout: t.Idle, HTTP2: &http.HTTP2Config{
		MaxReceiveBufferPerStream:     h2UpstreamStreamWindow,
		MaxReceiveBufferPerConnection: h2UpstreamConnWindow,
		MaxReadFrameSize:              h2MaxFrame,
	}}
	t2, err := http2.ConfigureTransports(t1)
	if err != nil { // only when t1 was configured already, which it cannot be
		t2 = &http2.Transport{}
	}
	d := &net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}
	t2.ConnPool = nil // ConfigureTransports leaves one that never dials
	t2.AllowHTTP = true
	t2.DialTLSContext = func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	t2.ReadIdleTimeout = 30 * time.Second
	t2.PingTimeout = 15 * time.Second
	t2.IdleConnTimeout = t.Idle
	t2.MaxReadFrameSize = h2MaxFrame
	// Forward exactly what was authorized: the transport must not add
	// accept-encoding: gzip (a field the policy never saw) nor decode the answer.
	t2.DisableCompression = true
	return t2
}

// admitting refuses new streams with 503 near the memory limit.
func (s *Server) admitting(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.admit() {
			s.m.refuse("h2", http.StatusServiceUnavailable)
			writeH2Denial(w, errorDenial(http.StatusServiceUnavailable))
			return
		}
		h.ServeHTTP(w, r)
	})
}
