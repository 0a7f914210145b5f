package inbound_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/test/support"
)

// TestMemoryPressure: with the process over its memory limit, a kept-alive
// HTTP/1 connection's next request and a new h2c stream are answered 503, and a
// new connection is closed unread; once the limit is lifted, all are served again.
// The limit is the whole test process's: the test lowers it for as short a time as
// it can and restores it.
func TestMemoryPressure(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := startApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr, Registerer: reg})
	c, br := keptAlive(t, "127.0.0.1", addr)
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, n, _ string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, n, addr)
	}}
	defer tr.CloseIdleConnections()
	if status := h2Land(t, tr); status != 200 {
		t.Fatalf("h2c before: %d", status)
	}

	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(sample)
	old := debug.SetMemoryLimit(int64(sample[0].Value.Uint64() / 4))
	restored := false
	restore := func() {
		if !restored {
			debug.SetMemoryLimit(old)
			restored = true
		}
	}
	defer restore()
	support.Eventually(t, "a new connection refused under pressure", func() bool { return refusedAtOnce(t, "127.0.0.2", addr) })
	h1 := ask(t, c, br)
	h2 := h2Land(t, tr)
	restore()
	if h1 != 503 {
		t.Errorf("HTTP/1 request under pressure: %d, want 503", h1)
	}
	if h2 != 503 {
		t.Errorf("h2c stream under pressure: %d, want 503", h2)
	}
	support.Eventually(t, "a new connection served after pressure", func() bool { return served(t, "127.0.0.2", addr) })
	if status := h2Land(t, tr); status != 200 {
		t.Errorf("h2c after: %d, want 200", status)
	}
	for _, w := range []struct {
		name   string
		labels map[string]string
	}{
		{"rampart_inbound_refused_total", map[string]string{"protocol": "http1", "status": "503"}},
		{"rampart_inbound_refused_total", map[string]string{"protocol": "h2", "status": "503"}},
		{"rampart_inbound_connections_refused_total", map[string]string{"listener": "plaintext", "reason": "memory"}},
	} {
		if got := counter(t, reg, w.name, w.labels); got < 1 {
			t.Errorf("%s%v = %v, want >= 1", w.name, w.labels, got)
		}
	}
}

// h2Land posts a landing over tr and returns the status (0: no answer).
func h2Land(t *testing.T, tr *http2.Transport) int {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://deathstar/v1/request-landing", strings.NewReader("x"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Logf("h2c: %v", err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
