package hbone_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// streamOpener returns a frame writer that opens stream 1 on its first call and
// then writes next.
func streamOpener(next func(*http2.Framer) error) func(*http2.Framer) error {
	opened := false
	return func(fr *http2.Framer) error {
		if !opened {
			opened = true
			connect1(fr)
		}
		return next(fr)
	}
}

func writeHeaders(fr *http2.Framer, id uint32, kv ...string) error {
	return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block(kv...), EndHeaders: true})
}

// TestFloods sends 100 000 frames of one useless kind to a server connection
// over loopback: each flood must end in GOAWAY ENHANCE_YOUR_CALM, reported to
// OnViolation, with the server's goroutines bounded throughout (no goroutine
// per frame).
func TestFloods(t *testing.T) {
	id := uint32(1)
	cases := []struct {
		name, reason string
		write        func(*http2.Framer) error
		handler      func(*hbone.Stream)
	}{
		{"ping", "ping", func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{1}) }, nil},
		{"ping ack", "ping", func(fr *http2.Framer) error { return fr.WritePing(true, [8]byte{1}) }, nil},
		{"settings", "settings", func(fr *http2.Framer) error {
			return fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		}, nil},
		{"empty data", "empty_frames", streamOpener(func(fr *http2.Framer) error { return fr.WriteData(1, false, nil) }), nil},
		{"empty continuation", "empty_frames", streamOpener(func(fr *http2.Framer) error {
			if id == 1 {
				id = 3
				return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block(":method", "CONNECT")})
			}
			return fr.WriteContinuation(3, false, nil)
		}), nil},
		{"priority", "ignored_frames", func(fr *http2.Framer) error {
			return fr.WritePriority(1, http2.PriorityParam{StreamDep: 0, Weight: 1})
		}, nil},
		{"priority update", "ignored_frames", func(fr *http2.Framer) error {
			return fr.WriteRawFrame(http2.FramePriorityUpdate, 0, 0, []byte{0, 0, 0, 1, 'u', '=', '1'})
		}, nil},
		{"unknown frame type", "ignored_frames", func(fr *http2.Framer) error { return fr.WriteRawFrame(0x42, 0, 0, []byte("x")) }, nil},
		{"reset of a closed stream", "rst_stream", streamOpener(func(fr *http2.Framer) error {
			return fr.WriteRSTStream(1, http2.ErrCodeCancel)
		}), nil},
		{"rapid reset", "rapid_reset", func(fr *http2.Framer) error {
			id += 2
			if err := writeHeaders(fr, id, ":method", "CONNECT", ":authority", "198.18.0.1:80"); err != nil {
				return err
			}
			return fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}, func(s *hbone.Stream) { <-s.Done() }}, // never answers: every reset comes first
		{"malformed requests", "rapid_reset", func(fr *http2.Framer) error {
			id += 2
			return writeHeaders(fr, id, ":method", "CONNECT", ":authority", "198.18.0.1:80", ":path", "/")
		}, nil},
		{"streams past the limit", "rapid_reset", func(fr *http2.Framer) error {
			id += 2
			return writeHeaders(fr, id, ":method", "CONNECT", ":authority", "198.18.0.1:80")
		}, func(s *hbone.Stream) { <-s.Done() }},
		{"window update", "window_update", func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, 1) }, nil},
		{"stream window update", "window_update", streamOpener(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(1, 1) }), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id = 1
			var mu sync.Mutex
			var reasons []string
			cfg := hbone.Config{
				OnViolation: func(r string) { mu.Lock(); reasons = append(reasons, r); mu.Unlock() },
			}
			res := flood(t, 100_000, tc.write, cfg, tc.handler)
			if !res.sawGoAway || res.goaway != http2.ErrCodeEnhanceYourCalm {
				t.Errorf("flood ended without GOAWAY ENHANCE_YOUR_CALM (GOAWAY seen %v, code %v)", res.sawGoAway, res.goaway)
			}
			mu.Lock()
			if len(reasons) != 1 || reasons[0] != tc.reason {
				t.Errorf("OnViolation told %q, want [%q]", reasons, tc.reason)
			}
			mu.Unlock()
			// The sampler, the flooding writer, the server's reader, one
			// control-frame writer, a few transient ones; handlers are bounded
			// by MaxConcurrentStreams (100).
			if limit := 10; tc.handler != nil && res.goroutines > limit+100 || tc.handler == nil && res.goroutines > limit {
				t.Errorf("%d goroutines at the peak of the flood", res.goroutines)
			}
			t.Logf("answers %d, peak goroutines %d, peak heap %.1f MiB", res.answers, res.goroutines, float64(res.heap)/(1<<20))
		})
	}
}

// TestUnreadAnswers: a peer that provokes answers (a PING for every DATA frame it
// sends, which keeps within the PING budget: each DATA frame with payload earns one)
// while never reading them fills the control queue to its bound; the server then
// ends the connection (GOAWAY ENHANCE_YOUR_CALM, which a peer that does not read
// never sees) instead of holding more answers or blocking its reader.
func TestUnreadAnswers(t *testing.T) {
	client, server := net.Pipe() // unbuffered: once the peer stops reading, writes block
	defer client.Close()
	reason := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- hbone.Serve(context.Background(), server, hbone.Config{OnViolation: func(r string) { reason <- r }},
			func(s *hbone.Stream) { <-s.Done() }) // never answers, never reads
	}()
	fr := http2.NewFramer(client, client)
	go func() {
		io.WriteString(client, http2.ClientPreface)
		fr.WriteSettings()
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true,
			BlockFragment: block(":method", "CONNECT", ":authority", "198.18.0.1:80")})
		for i := 0; ; i++ {
			if fr.WriteData(1, false, []byte("x")) != nil || fr.WritePing(false, [8]byte{byte(i)}) != nil {
				return
			}
		}
	}()
	// Read the server's SETTINGS and window update, then never again.
	for range 2 {
		if _, err := fr.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case r := <-reason:
		if r != "control_queue" {
			t.Fatalf("OnViolation told %q, want control_queue", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept taking frames whose answers were never read")
	}
	if err := <-served; err == nil {
		t.Fatal("Serve returned nil after ending the connection for a violation")
	}
}

func writeHeadersEnd(fr *http2.Framer, id uint32) error {
	return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndStream: true, EndHeaders: true,
		BlockFragment: block(":method", "CONNECT", ":authority", "198.18.0.1:80")})
}
