package hbone_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// block HPACK-encodes header fields given as name, value pairs.
func block(kv ...string) []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for i := 0; i+1 < len(kv); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return buf.Bytes()
}

func headers(id uint32, end bool, kv ...string) func(*http2.Framer) {
	return func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block(kv...), EndHeaders: true, EndStream: end})
	}
}

// bigHeaders is a CONNECT whose header list (20 fields of 1 KiB) exceeds 16 KiB.
func bigHeaders() []string {
	kv := []string{":method", "CONNECT", ":authority", "198.18.0.1:80"}
	for i := range 20 {
		kv = append(kv, fmt.Sprintf("x-field-%d", i), strings.Repeat("a", 1<<10))
	}
	return kv
}

var ping = func(fr *http2.Framer) { fr.WritePing(false, [8]byte{'p'}) }

var connect1 = headers(1, false, ":method", "CONNECT", ":authority", "198.18.0.1:80")

// TestBadInput sends a peer's protocol errors to the server and checks its
// answer: a stream reset, a GOAWAY, or an HTTP status, never a tunnel.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name   string
		frames []func(*http2.Framer)
		want   string // "rst CODE", "goaway CODE" or "status N"
	}{
		{"connect with path", []func(*http2.Framer){headers(1, false, ":method", "CONNECT", ":authority", "198.18.0.1:80", ":path", "/")}, "rst PROTOCOL_ERROR"},
		{"connect with scheme", []func(*http2.Framer){headers(1, false, ":method", "CONNECT", ":authority", "198.18.0.1:80", ":scheme", "https")}, "rst PROTOCOL_ERROR"},
		{"connect without authority", []func(*http2.Framer){headers(1, false, ":method", "CONNECT")}, "rst PROTOCOL_ERROR"},
		{"no method", []func(*http2.Framer){headers(1, false, ":authority", "198.18.0.1:80")}, "rst PROTOCOL_ERROR"},
		{"response pseudo-header in a request", []func(*http2.Framer){headers(1, false, ":method", "CONNECT", ":authority", "198.18.0.1:80", ":status", "200")}, "rst PROTOCOL_ERROR"},
		{"not CONNECT", []func(*http2.Framer){headers(1, true, ":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/")}, "status 405"},
		{"header list too large", []func(*http2.Framer){headers(1, false, bigHeaders()...)}, "status 431"},
		{"header value too large", []func(*http2.Framer){headers(1, false, ":method", "CONNECT", ":authority", "198.18.0.1:80", "x-big", strings.Repeat("a", 20<<10))}, "goaway COMPRESSION_ERROR"},
		{"even stream id", []func(*http2.Framer){headers(2, false, ":method", "CONNECT", ":authority", "198.18.0.1:80")}, "goaway PROTOCOL_ERROR"},
		{"request below an opened stream is closed", []func(*http2.Framer){headers(5, false, ":method", "CONNECT", ":authority", "198.18.0.1:80"), headers(3, false, ":method", "CONNECT", ":authority", "198.18.0.1:80"), ping}, "rst STREAM_CLOSED"},
		{"headers on a half-closed stream", []func(*http2.Framer){headers(1, true, ":method", "CONNECT", ":authority", "198.18.0.1:80"), headers(1, true, "x-trailer", "1")}, "rst STREAM_CLOSED"},
		{"pseudo-field in trailers", []func(*http2.Framer){connect1, headers(1, true, ":path", "/")}, "rst PROTOCOL_ERROR"},
		{"request without path", []func(*http2.Framer){headers(1, true, ":method", "GET", ":scheme", "https", ":authority", "a")}, "rst PROTOCOL_ERROR"},
		{"request without scheme", []func(*http2.Framer){headers(1, true, ":method", "GET", ":path", "/", ":authority", "a")}, "rst PROTOCOL_ERROR"},
		{"window update on an idle stream", []func(*http2.Framer){func(fr *http2.Framer) { fr.WriteWindowUpdate(7, 1) }}, "goaway PROTOCOL_ERROR"},
		{"priority on itself", []func(*http2.Framer){connect1, func(fr *http2.Framer) { fr.WritePriority(1, http2.PriorityParam{StreamDep: 1, Weight: 16}) }}, "rst PROTOCOL_ERROR"},
		{"headers depending on itself", []func(*http2.Framer){func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":method", "CONNECT", ":authority", "198.18.0.1:80"), EndHeaders: true, Priority: http2.PriorityParam{StreamDep: 1, Weight: 16}})
		}}, "rst PROTOCOL_ERROR"},
		{"connection-specific field", []func(*http2.Framer){headers(1, false, ":method", "CONNECT", ":authority", "198.18.0.1:80", "connection", "close")}, "rst PROTOCOL_ERROR"},
		{"te other than trailers", []func(*http2.Framer){headers(1, false, ":method", "CONNECT", ":authority", "198.18.0.1:80", "te", "gzip")}, "rst PROTOCOL_ERROR"},
		{"unanswered request that ended", []func(*http2.Framer){headers(1, true, ":method", "CONNECT", ":authority", "198.18.0.2:80")}, "rst CANCEL"},
		{"frame larger than advertised", []func(*http2.Framer){connect1, func(fr *http2.Framer) { fr.WriteData(1, false, make([]byte, 20<<10)) }}, "goaway FRAME_SIZE_ERROR"},
		{"data on an idle stream", []func(*http2.Framer){func(fr *http2.Framer) { fr.WriteData(7, false, []byte("x")) }}, "goaway PROTOCOL_ERROR"},
		{"data past the stream window", []func(*http2.Framer){connect1, func(fr *http2.Framer) {
			for range 5 { // the stream window is 64 KiB in this test
				fr.WriteData(1, false, make([]byte, 16<<10))
			}
		}}, "rst FLOW_CONTROL_ERROR"},
		{"window overflow", []func(*http2.Framer){connect1, func(fr *http2.Framer) { fr.WriteWindowUpdate(1, 1<<31-1) }}, "rst FLOW_CONTROL_ERROR"},
		{"connection window overflow", []func(*http2.Framer){func(fr *http2.Framer) { fr.WriteWindowUpdate(0, 1<<31-1) }}, "goaway FLOW_CONTROL_ERROR"},
		{"push promise", []func(*http2.Framer){func(fr *http2.Framer) {
			fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: block(":method", "GET"), EndHeaders: true})
		}}, "goaway PROTOCOL_ERROR"},
		{"bad setting", []func(*http2.Framer){func(fr *http2.Framer) { fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 2}) }}, "goaway PROTOCOL_ERROR"},
	}
	addr, cli, _ := serve(t, hbone.Config{StreamWindow: 64 << 10, MaxHeaderBytes: 16 << 10}, func(s *hbone.Stream) {
		switch {
		case s.Request().Method != "CONNECT":
			s.Respond(405, nil, nil)
			return
		case s.Request().Authority == "198.18.0.2:80":
			return // a handler that never answers
		}
		s.Accept()
		time.Sleep(2 * time.Second) // never reads: only flow control limits the peer
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawExchange(t, addr, cli, tc.frames); got != tc.want {
				t.Fatalf("server answered %q, want %q", got, tc.want)
			}
		})
	}
}

// rawExchange speaks HTTP/2 frames by hand to the server at addr and returns the
// first answer that is not part of a healthy connection, after the events in skip.
func rawExchange(t *testing.T, addr string, cli *tls.Config, frames []func(*http2.Framer), skip ...string) string {
	c, err := tls.Dial("tcp", addr, cli)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.WriteSettings()
	go func() {
		for _, f := range frames {
			f(fr)
		}
	}()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return "read error: " + err.Error()
		}
		ev := event(f)
		if ev == "" {
			continue
		}
		if len(skip) > 0 && ev == skip[0] {
			skip = skip[1:]
			continue
		}
		return ev
	}
}

// event names a frame that is not part of a healthy exchange (or a ping
// answer); "" for the rest.
func event(f http2.Frame) string {
	switch f := f.(type) {
	case *http2.RSTStreamFrame:
		return "rst " + f.ErrCode.String()
	case *http2.GoAwayFrame:
		return "goaway " + f.ErrCode.String()
	case *http2.MetaHeadersFrame:
		if s := f.PseudoValue("status"); s != "200" {
			return "status " + s
		}
	case *http2.PingFrame:
		if f.IsAck() {
			return "ping ack"
		}
	}
	return ""
}

// TestRapidReset opens and at once resets many streams (CVE-2023-44487): handlers
// of reset streams still count against MaxConcurrentStreams.
func TestRapidReset(t *testing.T) {
	var running, peak atomic.Int32
	addr, cli, _ := serve(t, hbone.Config{MaxConcurrentStreams: 10}, func(s *hbone.Stream) {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		s.Accept()
		time.Sleep(300 * time.Millisecond) // a slow handler, ignoring the reset
	})
	var fs []func(*http2.Framer)
	for id := uint32(1); id < 1000; id += 2 {
		fs = append(fs, headers(id, false, ":method", "CONNECT", ":authority", "198.18.0.1:80"),
			func(fr *http2.Framer) { fr.WriteRSTStream(id, http2.ErrCodeCancel) })
	}
	fs = append(fs, func(*http2.Framer) { time.Sleep(100 * time.Millisecond) })
	rawExchange(t, addr, cli, fs)
	time.Sleep(100 * time.Millisecond)
	if p := peak.Load(); p > 10 || p == 0 {
		t.Fatalf("%d handlers ran at once, limit 10", p)
	}
}

// TestRefusedRequestKeepsConnection: DATA already in flight for a request the
// server refused as malformed is dropped; the connection stays up.
func TestRefusedRequestKeepsConnection(t *testing.T) {
	addr, cli, _ := serve(t, hbone.Config{}, echo)
	got := rawExchange(t, addr, cli, []func(*http2.Framer){
		headers(1, false, ":method", "CONNECT", ":authority", "198.18.0.1:80", "X-Upper", "1"),
		func(fr *http2.Framer) { fr.WriteData(1, false, []byte("hello")) },
		ping,
	}, "rst PROTOCOL_ERROR")
	if got != "ping ack" {
		t.Fatalf("after the refused request the server answered %q, want a ping ack", got)
	}
}

// TestAdmitStream: a stream AdmitStream turns down is refused with
// REFUSED_STREAM (safe to retry elsewhere) before any handler runs, and the
// connection stays up; once admitted again, streams open.
func TestAdmitStream(t *testing.T) {
	var admit atomic.Bool
	var handled atomic.Int32
	addr, cli, _ := serve(t, hbone.Config{AdmitStream: admit.Load}, func(s *hbone.Stream) {
		handled.Add(1)
		echo(s)
	})
	got := rawExchange(t, addr, cli, []func(*http2.Framer){connect1, ping})
	if got != "rst REFUSED_STREAM" {
		t.Fatalf("stream under memory pressure: server answered %q, want rst REFUSED_STREAM", got)
	}
	if got := rawExchange(t, addr, cli, []func(*http2.Framer){connect1, ping}, "rst REFUSED_STREAM"); got != "ping ack" {
		t.Fatalf("after a refusal the server answered %q, want a ping ack", got)
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("%d handlers ran for refused streams", n)
	}
	c := dial(t, addr, cli, hbone.Config{})
	if _, err := connect(t, c, "198.18.0.1:80"); !errors.Is(err, hbone.ErrRefused) {
		t.Fatalf("our client's stream under memory pressure: %v, want ErrRefused", err)
	}
	admit.Store(true)
	if _, err := connect(t, c, "198.18.0.1:80"); err != nil {
		t.Fatalf("admitted stream: %v", err)
	}
}
