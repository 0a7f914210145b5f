package inbound_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

// TestResponseRelay puts the proxy in front of an app that answers every request
// with the bytes of one corpus file, and checks exactly what the client receives:
// the response re-framed for the client, or a 502 for framing the proxy will not
// guess at.
func TestResponseRelay(t *testing.T) {
	allowAll := inbound.AuthorizerFunc(func(context.Context, *rego.Input) rego.Decision {
		return rego.Decision{Allowed: true}
	})
	for _, c := range rawcase.Load(t, "testdata/responses") {
		t.Run(c.Name, func(t *testing.T) {
			app := cannedApp(t, c.Raw)
			addr := startProxy(t, inbound.Options{Authorizer: allowAll, Mode: inbound.Permissive, Upstream: app})
			req := "GET /x HTTP/1.1\r\nHost: deathstar\r\n\r\n"
			if r, ok := c.Want["request"]; ok {
				req = string(rawcase.MustUnescape(t, r))
			}
			statuses, all := exchangeRaw(t, addr, []byte(req))
			if want, ok := c.Want["client"]; ok && all != string(rawcase.MustUnescape(t, want)) {
				t.Errorf("client received\n%q\nwant\n%q", all, rawcase.MustUnescape(t, want))
			}
			if want, ok := c.Want["status"]; ok && (len(statuses) != 1 || strconv.Itoa(statuses[0]) != want) {
				t.Errorf("statuses %v, want [%s]\n%q", statuses, want, all)
			}
		})
	}
}

// cannedApp answers the first request head on every connection with raw, then
// closes the connection.
func cannedApp(t *testing.T, raw []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if l == "\r\n" {
						break
					}
				}
				c.Write(raw)
			}()
		}
	}()
	return ln.Addr().String()
}
