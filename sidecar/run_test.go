package sidecar_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

var quiet = slog.New(slog.DiscardHandler)

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// countingApp answers 200 and counts what it saw.
func countingApp(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, "landed")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), &n
}

func post(t *testing.T, addr, method, path string) (int, string) {
	t.Helper()
	var resp *http.Response
	var err error
	for range 50 { // the listener comes up asynchronously
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader("x"))
		req.Host = "deathstar"
		if resp, err = http.DefaultClient.Do(req); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRunPlaintextUpstream(t *testing.T) {
	app, seen := countingApp(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Options{
			Logger:  quiet,
			Policy:  sidecar.PolicyOptions{Bundle: "testdata/landing"},
			Inbound: sidecar.InboundOptions{PlaintextAddr: addr, Upstream: app, Mode: inbound.Permissive},
		})
	}()
	if code, body := post(t, addr, "POST", "/v1/request-landing"); code != 200 || body != "landed" {
		t.Errorf("landing: %d %q, want 200 landed", code, body)
	}
	if code, body := post(t, addr, "PUT", "/v1/exhaust-port"); code != 403 || body != "Access denied" {
		t.Errorf("exhaust port: %d %q, want 403 Access denied", code, body)
	}
	if n := seen.Load(); n != 1 {
		t.Errorf("app saw %d requests, want 1", n)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for name, opts := range map[string]sidecar.Options{
		"no bundle":      {Inbound: sidecar.InboundOptions{PlaintextAddr: "127.0.0.1:0"}},
		"missing bundle": {Policy: sidecar.PolicyOptions{Bundle: "testdata/nonexistent"}, Inbound: sidecar.InboundOptions{PlaintextAddr: "127.0.0.1:0"}},
		"no listener":    {Policy: sidecar.PolicyOptions{Bundle: "testdata/landing"}},
		"hbone, no svid": {Policy: sidecar.PolicyOptions{Bundle: "testdata/landing"}, Inbound: sidecar.InboundOptions{HBONEAddr: "127.0.0.1:0"}},
		"bad ca dir":     {Policy: sidecar.PolicyOptions{Bundle: "testdata/landing"}, Identity: sidecar.IdentityOptions{CADir: "testdata/nonexistent"}, Inbound: sidecar.InboundOptions{HBONEAddr: "127.0.0.1:0"}},
		"bad workloads":  {Policy: sidecar.PolicyOptions{Bundle: "testdata/landing"}, Inbound: sidecar.InboundOptions{PlaintextAddr: "127.0.0.1:0", WorkloadsFile: "testdata/landing/authz.rego"}},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			opts.Logger = quiet
			if err := sidecar.Run(ctx, opts); err == nil {
				t.Error("Run returned nil, want an error")
			}
		})
	}
}
