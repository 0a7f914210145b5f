package sidecar_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// An inbound-only proxy, as `rampart-proxy --bundle testdata/landing
// --listen-plaintext ADDR --upstream APP` runs it: plaintext requests are
// authorized as an unauthenticated peer, allowed ones forwarded to the app.
func ExampleRun() {
	app, _ := net.Listen("tcp", "127.0.0.1:0")
	go http.Serve(app, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "landed")
	}))
	probe, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := probe.Addr().String()
	probe.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Options{
			Logger:  slog.New(slog.DiscardHandler),
			Policy:  sidecar.PolicyOptions{Bundle: "testdata/landing"},
			Inbound: sidecar.InboundOptions{PlaintextAddr: addr, Upstream: app.Addr().String(), Mode: inbound.Permissive},
		})
	}()
	for _, r := range []string{"POST /v1/request-landing", "PUT /v1/exhaust-port"} {
		method, path, _ := strings.Cut(r, " ")
		var resp *http.Response
		for range 100 { // until the listener is up
			req, _ := http.NewRequest(method, "http://"+addr+path, nil)
			var err error
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(r, "→", resp.StatusCode, string(body))
	}
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// POST /v1/request-landing → 200 landed
	// PUT /v1/exhaust-port → 403 Access denied
	// Run returned <nil>
}
