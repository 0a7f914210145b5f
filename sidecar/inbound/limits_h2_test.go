package inbound_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// TestH2CFloods: a client flooding frames that carry no request is sent GOAWAY
// ENHANCE_YOUR_CALM (when the server is between two frames) and closed, long
// before the flood ends; another client is served right after.
func TestH2CFloods(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := startApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr, Registerer: reg})
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, n, _ string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, n, addr)
	}}
	defer tr.CloseIdleConnections()
	open := headersBlock(map[string]string{":method": "POST", ":scheme": "http", ":authority": "deathstar", ":path": "/v1/request-landing"})
	for _, tc := range []struct {
		name   string
		start  func(fr *http2.Framer) // before the flood
		frame  func(fr *http2.Framer, i int) error
		reason string // of the refusal counter
	}{
		{"settings", nil, func(fr *http2.Framer, _ int) error {
			return fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65535})
		}, "h2_flood_settings"},
		{"ping", nil, func(fr *http2.Framer, i int) error { return fr.WritePing(false, [8]byte{byte(i)}) }, "h2_flood_ping"},
		{"priority", nil, func(fr *http2.Framer, i int) error {
			return fr.WritePriority(uint32(2*i+1), http2.PriorityParam{Weight: 1})
		}, "h2_flood_priority"},
		{"empty data", func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: open, EndHeaders: true})
		}, func(fr *http2.Framer, _ int) error { return fr.WriteData(1, false, nil) }, "h2_flood_empty"},
		{"unknown frames", nil, func(fr *http2.Framer, _ int) error { return fr.WriteRawFrame(0x42, 0, 0, nil) }, "h2_flood_empty"},
		{"rapid reset", nil, func(fr *http2.Framer, i int) error {
			id := uint32(2*i + 1)
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: open, EndHeaders: true}); err != nil {
				return err
			}
			return fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}, ""}, // x/net's own early-reset limit may close it first
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fr := h2cConn(t, addr)
			defer c.Close()
			closed := make(chan http2.ErrCode, 1)
			go func() { closed <- readUntilClosed(fr) }()
			if tc.start != nil {
				tc.start(fr)
			}
			const flood = 20000
			sent := 0
			for ; sent < flood && tc.frame(fr, sent) == nil; sent++ {
			}
			select {
			case code := <-closed:
				if code != 0 && code != http2.ErrCodeEnhanceYourCalm {
					t.Errorf("GOAWAY %v, want ENHANCE_YOUR_CALM", code)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("connection still open after %d frames", sent)
			}
			if status := h2Land(t, tr); status != 200 {
				t.Errorf("another client after the flood: %d, want 200", status)
			}
			if tc.reason != "" {
				if got := counter(t, reg, "rampart_inbound_connections_refused_total", map[string]string{"listener": "plaintext", "reason": tc.reason}); got < 1 {
					t.Errorf("refused{%s} = %v, want >= 1", tc.reason, got)
				}
			}
		})
	}
}

// readUntilClosed reads frames until the connection ends and returns the code of
// the last GOAWAY seen (0: none).
func readUntilClosed(fr *http2.Framer) http2.ErrCode {
	var code http2.ErrCode
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return code
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			code = g.ErrCode
		}
	}
}

func headersBlock(fields map[string]string) []byte {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for _, k := range []string{":method", ":scheme", ":authority", ":path"} {
		enc.WriteField(hpack.HeaderField{Name: k, Value: fields[k]})
	}
	return b.Bytes()
}

// TestH2CZeroWindowBound: a client that opens 100 streams for 8 MiB answers and
// never opens its flow-control window makes the proxy hold at most the windows it
// advertises to the app (128 KiB per stream) plus copy buffers, not the answers.
// The heap is the whole test process's (the app's too), measured after GCs.
func TestH2CZeroWindowBound(t *testing.T) {
	const streams, answer = 100, 8 << 20
	var written atomic.Int64
	app := startBigApp(t, answer, &written)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: app})
	c, fr := h2cConn(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go readUntilClosed(fr) // reads frames, never sends WINDOW_UPDATE
	before := heapAfterGC()
	get := headersBlock(map[string]string{":method": "GET", ":scheme": "http", ":authority": "deathstar", ":path": "/public/big"})
	for i := range streams {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: get, EndHeaders: true, EndStream: true})
	}
	// Wait until the app is blocked: nothing more written for 500 ms.
	for last := int64(-1); written.Load() != last; time.Sleep(500 * time.Millisecond) {
		last = written.Load()
	}
	growth := heapAfterGC() - before
	t.Logf("zero window: %d streams, app wrote %d KiB, heap growth %d KiB (%d KiB per stream)",
		streams, written.Load()>>10, growth>>10, growth/streams>>10)
	if written.Load() >= streams*answer/2 {
		t.Errorf("app wrote %d bytes: the proxy took the answers instead of stopping them", written.Load())
	}
	if limit := int64(streams * 256 << 10); growth > limit {
		t.Errorf("heap grew by %d KiB, want <= %d KiB (streams x 256 KiB)", growth>>10, limit>>10)
	}
}

// startBigApp serves an h2c (and HTTP/1.1) app answering n bytes to every request,
// counting what it managed to write.
func startBigApp(t *testing.T, n int, written *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 32<<10)
	srv := &http.Server{Protocols: new(http.Protocols), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for left := n; left > 0; left -= len(chunk) {
			k, err := w.Write(chunk[:min(left, len(chunk))])
			written.Add(int64(k))
			if err != nil {
				return
			}
		}
	})}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// heapAfterGC is the live heap, in bytes, after two collections.
func heapAfterGC() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
