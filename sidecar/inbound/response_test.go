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
	return scriptedApp(t, func(int) ([]byte, bool) { return raw, true })
}

// scriptedApp answers the n-th request head on each connection (from 0) with
// answer(n), and closes the connection without answering when that is nil, or after
// answering when last is set. Request bodies are not read.
func scriptedApp(t *testing.T, answer func(n int) (raw []byte, last bool)) string {
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
			go serveScript(c, answer)
		}
	}()
	return ln.Addr().String()
}

func serveScript(c net.Conn, answer func(n int) ([]byte, bool)) {
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 0; ; n++ {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if l == "\r\n" {
				break
			}
		}
		raw, last := answer(n)
		if raw == nil {
			return
		}
		c.Write(raw)
		if last {
			return
		}
	}
}

// TestStalePooledConnection uses an app that closes a kept-alive connection when
// the next request arrives, as an app whose idle timeout fires just then does. A
// request without a body is sent again on a fresh connection; one with a body
// cannot be (its bytes are gone), so it gets a 503 rather than a guess.
func TestStalePooledConnection(t *testing.T) {
	allowAll := inbound.AuthorizerFunc(func(context.Context, *rego.Input) rego.Decision {
		return rego.Decision{Allowed: true}
	})
	app := scriptedApp(t, func(n int) ([]byte, bool) {
		if n > 0 {
			return nil, true
		}
		return []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), false
	})
	addr := startProxy(t, inbound.Options{Authorizer: allowAll, Mode: inbound.Permissive, Upstream: app})
	raw := "GET /a HTTP/1.1\r\nHost: deathstar\r\n\r\n" +
		"GET /b HTTP/1.1\r\nHost: deathstar\r\n\r\n" +
		"POST /c HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 2\r\n\r\nhi"
	statuses, all := exchangeRaw(t, addr, []byte(raw))
	if len(statuses) != 3 || statuses[0] != 200 || statuses[1] != 200 || statuses[2] != 503 {
		t.Errorf("statuses %v, want [200 200 503]\n%q", statuses, all)
	}
}
