package admin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/rampart-mesh/rampart/sidecar/admin"
)

func TestParseProbesRejectsBadInput(t *testing.T) {
	want := map[string]string{
		"named-port.json": "not a number", "wrong-prefix.json": "path must be",
		"wrong-kind.json": "path must be", "no-handler.json": "exactly one",
		"two-handlers.json": "exactly one", "port-range.json": "1..65535",
		"exec.json": "unknown field", "scheme.json": "scheme", "truncated.json": "EOF",
	}
	files, _ := filepath.Glob("testdata/bad-probes/*.json")
	if len(files) != len(want) {
		t.Fatalf("%d files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		_, err := admin.ParseProbes(string(data))
		if err == nil || !strings.Contains(err.Error(), want[filepath.Base(f)]) {
			t.Errorf("%s: %v, want error containing %q", f, err, want[filepath.Base(f)])
		}
		if _, err := admin.New(admin.Options{AppProbes: string(data)}); err == nil {
			t.Errorf("%s: New accepted it", f)
		}
	}
}

func FuzzParseProbes(f *testing.F) {
	files, _ := filepath.Glob("testdata/bad-probes/*.json")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(string(data))
	}
	f.Add(`{"/app-health/web/readyz": {"httpGet": {"path": "/ready", "port": 8080}}}`)
	f.Fuzz(func(t *testing.T, s string) { _, _ = admin.ParseProbes(s) })
}

func TestHealthAndMetrics(t *testing.T) {
	var svid, policy atomic.Bool
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "rampart_test_total", Help: "t"})
	reg.MustRegister(c)
	c.Add(3)
	s, err := admin.New(admin.Options{Gatherer: reg, Config: map[string]string{"mode": "STRICT"},
		Ready: []admin.Check{
			{Name: "svid", Check: flag(&svid, "no SVID yet")},
			{Name: "policy", Check: flag(&policy, "no policy bundle loaded")},
			{Name: "discovery", Check: func() error { return nil }, Detail: func() string { return "view age 3s" }},
		}})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, s)
	steps := []struct {
		set        func()
		path, want string
	}{
		{func() {}, "/healthz/live", "200 live"},
		{func() {}, "/healthz/ready", "503 not ready: svid: no SVID yet"},
		{func() { svid.Store(true) }, "/healthz/ready", "503 not ready: policy: no policy bundle loaded"},
		{func() { policy.Store(true) }, "/healthz/ready", "200 ready\ndiscovery: view age 3s\n"},
		{func() {}, "/metrics", "200 # HELP rampart_test_total t"},
		{func() {}, "/debug/config", "200 {\n  \"mode\": \"STRICT\"\n}"},
		{func() {}, "/app-health/web/livez", "404 no such app probe"},
	}
	for _, st := range steps {
		st.set()
		if got := fetch(t, base+st.path); !strings.HasPrefix(got, st.want) {
			t.Errorf("%s: got %q, want prefix %q", st.path, got, st.want)
		}
	}
}

func TestAppProbesRunTheOriginalProbe(t *testing.T) {
	app := startHTTPApp(t)
	grpcPort, setServing := startGRPCApp(t)
	closed := closedPort(t)
	probes := fmt.Sprintf(`{
	  "/app-health/web/livez":     {"httpGet": {"path": "/healthz", "port": %[1]d, "scheme": "HTTP",
	                                "httpHeaders": [{"name": "X-Probe", "value": "yes"}]}},
	  "/app-health/web/readyz":    {"httpGet": {"path": "/sick", "port": %[1]d}},
	  "/app-health/web/startupz":  {"tcpSocket": {"port": %[1]d}},
	  "/app-health/db/readyz":     {"tcpSocket": {"port": %[2]d}},
	  "/app-health/grpc/livez":    {"grpc": {"port": %[3]d}},
	  "/app-health/grpc/readyz":   {"grpc": {"port": %[3]d, "service": "deathstar"}}
	}`, app, closed, grpcPort)
	s, err := admin.New(admin.Options{AppProbes: probes})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, s)
	tests := []struct{ path, want string }{
		{"/app-health/web/livez", "200"},
		{"/app-health/web/readyz", "500"},
		{"/app-health/web/startupz", "200"},
		{"/app-health/db/readyz", "500"},
		{"/app-health/grpc/livez", "200"},
		{"/app-health/grpc/readyz", "500"}, // NOT_SERVING until set
	}
	for _, tt := range tests {
		if got := fetch(t, base+tt.path); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: %q, want %s", tt.path, got, tt.want)
		}
	}
	setServing("deathstar")
	if got := fetch(t, base+"/app-health/grpc/readyz"); !strings.HasPrefix(got, "200") {
		t.Errorf("grpc readyz after SERVING: %q", got)
	}
}

func flag(b *atomic.Bool, why string) func() error {
	return func() error {
		if !b.Load() {
			return errors.New(why)
		}
		return nil
	}
}

func serve(t *testing.T, s *admin.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + l.Addr().String()
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

func startHTTPApp(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && r.Header.Get("X-Probe") == "yes" {
			io.WriteString(w, "fine")
			return
		}
		http.Error(w, "sick", http.StatusInternalServerError)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func startGRPCApp(t *testing.T) (int, func(string)) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	h := health.NewServer()
	h.SetServingStatus("deathstar", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return l.Addr().(*net.TCPAddr).Port, func(svc string) {
		h.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
