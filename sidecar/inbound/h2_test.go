package inbound_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// TestH2CCases sends each line of testdata/h2.txt as raw HTTP/2 frames to the
// plaintext listener and checks the status and what the app saw.
func TestH2CCases(t *testing.T) {
	a := startApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr})
	for _, l := range readTable(t, "testdata/h2.txt") {
		name := strings.Join(l[:4], " ")
		t.Run(name, func(t *testing.T) {
			hdrs := [][2]string{{":method", l[0]}, {":authority", l[2]}}
			if l[0] != "CONNECT" {
				hdrs = append(hdrs, [2]string{":scheme", "http"}, [2]string{":path", l[1]})
			}
			if k, v, ok := strings.Cut(l[3], "="); ok {
				hdrs = append(hdrs, [2]string{k, v})
			}
			got := h2Status(t, addr, hdrs)
			if got != l[4] {
				t.Errorf("status %s, want %s", got, l[4])
			}
			seen := a.take()
			for _, s := range seen {
				if !allowedByTestPolicy(s) {
					t.Errorf("BYPASS: app saw %s %s", s.Method, s.URI)
				}
				if s.XFCC != "" || s.Proto != "HTTP/2.0" {
					t.Errorf("app saw XFCC %q over %s, want none over HTTP/2.0", s.XFCC, s.Proto)
				}
			}
			if got := joinSeen(seen); got != l[5] {
				t.Errorf("app saw %q, want %q", got, l[5])
			}
		})
	}
}

// h2cConn opens a prior-knowledge h2c connection to addr (client preface and an
// empty SETTINGS sent, 5 s deadline); the caller closes it.
func h2cConn(t *testing.T, addr string) (net.Conn, *http2.Framer) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	return c, fr
}

// h2Status sends one HEADERS frame (END_STREAM) on a fresh h2c connection and
// returns the response :status, or "reset" when the stream or connection was
// refused.
func h2Status(t *testing.T, addr string, hdrs [][2]string) string {
	t.Helper()
	c, fr := h2cConn(t, addr)
	defer c.Close()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, h := range hdrs {
		enc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return "reset"
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					if _, err := strconv.Atoi(hf.Value); err == nil {
						return hf.Value
					}
				}
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			return "reset"
		}
	}
}

// TestH2CAdvertisesLimits: the configured stream limit reaches clients in the
// server's SETTINGS, so one connection cannot open unbounded streams.
func TestH2CAdvertisesLimits(t *testing.T) {
	a := startApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr, MaxConcurrentStreams: 7})
	c, fr := h2cConn(t, addr)
	defer c.Close()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if v, ok := sf.Value(http2.SettingMaxConcurrentStreams); !ok || v != 7 {
				t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (%v), want 7", v, ok)
			}
			return
		}
	}
}

// TestH2CBodyLimit: an HTTP/2 body over the limit is refused (413) before the app.
func TestH2CBodyLimit(t *testing.T) {
	a := startApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr,
		HTTP: httpx.Config{MaxBodyBytes: 10}})
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, n, _ string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, n, addr)
	}}
	defer tr.CloseIdleConnections()
	for _, tc := range []struct {
		body   string
		status int
	}{{"small", 200}, {strings.Repeat("x", 100), 413}} {
		req, _ := http.NewRequest("POST", "http://deathstar/v1/request-landing", strings.NewReader(tc.body))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%d-byte body: %d, want %d", len(tc.body), resp.StatusCode, tc.status)
		}
	}
	if got := joinSeen(a.take()); got != "POST /v1/request-landing" {
		t.Errorf("app saw %q, want only the small request", got)
	}
}
