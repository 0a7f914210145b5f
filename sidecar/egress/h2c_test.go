package egress_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http2"
)

// TestH2CDecidedPerStream: on one h2c connection from app a to github.com's
// address, each stream is decided by its own :authority. A stream naming
// google.com (denied, and not an address of it) gets the policy's 403 while the
// streams naming github.com before and after it reach github.com.
func TestH2CDecidedPerStream(t *testing.T) {
	e := newEnv(t)
	g := e.guard(t, "a", nil)
	target := e.backends["github.com/http"]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); g.Serve(context.Background(), c.(*net.TCPConn), target.addr()) }()
		}
	}()
	app, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc, err := (&http2.Transport{AllowHTTP: true}).NewClientConn(app) // every stream on this one connection
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	for i, c := range []struct{ authority, want string }{
		{"github.com", "200 ok"},
		{"google.com", "403 Access denied"},
		{"evil.example", "403 Access denied"},
		{"github.com", "200 ok"},
	} {
		req, _ := http.NewRequest("GET", "http://"+c.authority+"/", nil)
		resp, err := cc.RoundTrip(req)
		if err != nil {
			t.Fatalf("%d %s: %v", i, c.authority, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Status[:3] + " " + string(body); !strings.HasPrefix(got, c.want) {
			t.Errorf("%d %s: %q, want %q", i, c.authority, got, c.want)
		}
	}
	if _, conns := target.received(); conns != 1 {
		t.Errorf("github.com got %d connections, want the allowed streams on one", conns)
	}
	for _, host := range []string{"google.com", "evil.example"} {
		if got, conns := e.backends[host+"/http"].received(); got != "" || conns != 0 {
			t.Errorf("%s received %q over %d connections", host, got, conns)
		}
	}
}
