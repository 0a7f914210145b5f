package inbound_test

import (
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := startApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr, Registerer: reg})
	land := "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\n\r\n"
	exchangeRaw(t, addr, []byte(land+"PUT /v1/exhaust-port HTTP/1.1\r\nHost: deathstar\r\n\r\n"+land))
	exchangeRaw(t, addr, []byte("put / HTTP/1.1\r\nHost: deathstar\r\n\r\n"))
	c := dial(t, addr)
	io.WriteString(c, "\x16\x03\x01")
	io.ReadAll(c)
	for _, w := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"rampart_inbound_decisions_total", map[string]string{"protocol": "http1", "decision": "allow"}, 2},
		{"rampart_inbound_decisions_total", map[string]string{"protocol": "http1", "decision": "deny"}, 1},
		{"rampart_inbound_decisions_total", map[string]string{"protocol": "tcp", "decision": "deny"}, 1},
		{"rampart_inbound_refused_total", map[string]string{"protocol": "http1", "status": "400"}, 1},
	} {
		if got := counter(t, reg, w.name, w.labels); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}
}

// counter reads one counter from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
