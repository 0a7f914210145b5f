package sidecar_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// TestRunClientOnlyNeedsNoBundle: a proxy with only outbound routes decides
// nothing, so it starts without a policy bundle and carries traffic.
func TestRunClientOnlyNeedsNoBundle(t *testing.T) {
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	go func() {
		for {
			c, err := app.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	listen := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Options{Logger: quiet, Outbound: sidecar.OutboundOptions{
			Routes: []outbound.Route{{Listen: listen, Destination: app.Addr().String(), Plain: true}}}})
	}()
	var c net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err = net.Dial("tcp", listen); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run without a bundle: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("route %s never listened: %v", listen, err)
		}
	}
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Errorf("echo through the route: %q %v", buf, err)
	}
	c.Close() // else shutdown waits for it to drain
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

// TestHBONEWithoutIdentityNamesSources: the start error lists every way to give
// the proxy an identity, --svid-dir included.
func TestHBONEWithoutIdentityNamesSources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := sidecar.Run(ctx, sidecar.Options{Logger: quiet, Policy: sidecar.PolicyOptions{Bundle: "testdata/landing"},
		Inbound: sidecar.InboundOptions{HBONEAddr: "127.0.0.1:0"}})
	for _, want := range []string{"--svid-dir", "--ca-dir", "--ca-addr", "--workload-api"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run: %v, want an error naming %s", err, want)
		}
	}
}

// TestMeshedRouteWithoutIdentitySaysHow: a route that tunnels needs an identity;
// the start error says which flags give one.
func TestMeshedRouteWithoutIdentitySaysHow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := sidecar.Run(ctx, sidecar.Options{Logger: quiet, Outbound: sidecar.OutboundOptions{
		Routes: []outbound.Route{{Listen: "127.0.0.1:0", Destination: "198.18.0.1:80"}}}})
	if err == nil || !strings.Contains(err.Error(), "--svid-dir") || !strings.Contains(err.Error(), ",plain") {
		t.Errorf("Run: %v, want an error naming the identity flags and ,plain", err)
	}
}
