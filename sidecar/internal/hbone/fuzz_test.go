package hbone_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// frames renders frame-writing functions to bytes, for fuzz seeds.
func frames(fs ...func(*http2.Framer)) []byte {
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	for _, f := range fs {
		f(fr)
	}
	return buf.Bytes()
}

var settings = func(fr *http2.Framer) { fr.WriteSettings() }

// FuzzServe feeds arbitrary bytes after the client preface to a server whose
// handler echoes. It must neither panic nor hang; everything it writes back
// must parse as valid HTTP/2 frames; the windows stay within their bounds
// (CheckInvariants) while it runs and after; once the connection closed,
// every stream a handler got has ended and no goroutine is left.
func FuzzServe(f *testing.F) {
	f.Add(frames(settings, connect1, func(fr *http2.Framer) { fr.WriteData(1, true, []byte("hello")) }))
	f.Add(frames(settings, headers(1, true, bigHeaders()...)))
	f.Add(frames(settings, connect1, func(fr *http2.Framer) { fr.WriteRSTStream(1, http2.ErrCodeCancel) }))
	f.Add(frames(settings, connect1, func(fr *http2.Framer) { fr.WriteWindowUpdate(1, 1<<31-1) }))
	f.Add(frames(settings, func(fr *http2.Framer) { fr.WritePing(false, [8]byte{1}) }, func(fr *http2.Framer) { fr.WriteGoAway(0, 0, nil) }))
	f.Add(frames(settings, headers(3, false, ":method", "GET", ":path", "/")))
	f.Add([]byte("\x00\x00\x00\x04\x00\x00\x00\x00\x00garbage"))
	f.Add(frames(settings, connect1, func(fr *http2.Framer) {
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
	}))
	f.Add(frames(func(fr *http2.Framer) { fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 3}) }, connect1,
		func(fr *http2.Framer) { fr.WriteData(1, false, []byte("0123456789")) },
		func(fr *http2.Framer) { fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}) },
		func(fr *http2.Framer) { fr.WriteWindowUpdate(1, 5) },
		func(fr *http2.Framer) { fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100}) }))
	f.Add(frames(settings, connect1, func(fr *http2.Framer) {
		fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0})
	}, headers(3, false, ":method", "CONNECT", ":authority", "198.18.0.1:80")))
	f.Add(frames(settings, connect1, func(fr *http2.Framer) { fr.WriteGoAway(1, http2.ErrCodeNo, nil) },
		func(fr *http2.Framer) { fr.WriteData(1, true, []byte("bye")) }))
	f.Add(frames(settings, func(fr *http2.Framer) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":method", "CONNECT")})
		fr.WriteContinuation(1, false, nil)
		fr.WriteContinuation(1, true, block(":authority", "198.18.0.1:80"))
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		base := running()
		client, server := net.Pipe()
		var opened sync.Map // every stream a handler got
		conn, serve := hbone.ServeConn(server, hbone.Config{MaxHeaderBytes: 4 << 10, StreamWindow: 64 << 10, ConnWindow: 128 << 10},
			func(s *hbone.Stream) { opened.Store(s, true); echo(s) })
		done := make(chan error, 1)
		go func() { done <- serve(context.Background()) }()
		out := make(chan error, 1)
		go func() { out <- checkFrames(client) }()
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(client, http2.ClientPreface)
		client.Write(data)
		time.Sleep(time.Millisecond) // let the server answer before the peer goes
		if err := conn.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after the peer closed")
		}
		if err := <-out; err != nil {
			t.Fatalf("server wrote an invalid frame: %v", err)
		}
		if err := conn.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		opened.Range(func(k, _ any) bool {
			if !ended(k.(*hbone.Stream)) {
				t.Fatalf("stream %v still open after the connection closed", k.(*hbone.Stream).Request())
			}
			return true
		})
		noGoroutinesLeft(t, base)
	})
}

// ended reports whether s has ended (Done is closed).
func ended(s *hbone.Stream) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// noGoroutinesLeft waits until the goroutines started since base have ended:
// a closed connection leaves none behind (its control writer, handlers, timers).
func noGoroutinesLeft(t *testing.T, base int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); running() > base; {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left after the connection closed:\n%s", running()-base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

// running counts goroutines that are not parked handler goroutines waiting
// for a next stream (those are kept across connections, at most gopool.Max).
func running() int { return runtime.NumGoroutine() - hbone.ParkedHandlers() }

// checkFrames reads frames until the connection ends; a frame that does not
// parse is an error, a connection cut mid-frame is not.
func checkFrames(c net.Conn) error {
	fr := http2.NewFramer(nil, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	for {
		_, err := fr.ReadFrame()
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.ErrClosedPipe), errors.Is(err, net.ErrClosed):
			return nil
		default:
			return err
		}
	}
}

// FuzzClient feeds arbitrary bytes after the server's SETTINGS to a client
// opening a tunnel. It must neither panic nor hang; the windows stay within
// their bounds; once the connection closed, the stream has ended and no
// goroutine is left.
func FuzzClient(f *testing.F) {
	resp := func(kv ...string) func(*http2.Framer) {
		return func(fr *http2.Framer) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(kv...), EndHeaders: true})
		}
	}
	f.Add(frames(resp(":status", "200"), func(fr *http2.Framer) { fr.WriteData(1, true, []byte("hi")) }))
	f.Add(frames(resp(":status", "103"), resp(":status", "403")))
	f.Add(frames(resp(":status", "200"), func(fr *http2.Framer) { fr.WriteRSTStream(1, http2.ErrCodeRefusedStream) }))
	f.Add(frames(resp(":status", "abc")))
	f.Add(frames(func(fr *http2.Framer) { fr.WriteGoAway(0, http2.ErrCodeNo, nil) }))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer noGoroutinesLeft(t, running())
		client, server := net.Pipe()
		defer client.Close()
		go io.Copy(io.Discard, server)
		go func() {
			server.Write(frames(settings))
			server.Write(data)
			time.Sleep(time.Millisecond)
			server.Close()
		}()
		c, err := hbone.Client(client, hbone.Config{})
		if err != nil {
			return
		}
		defer c.Close()
		if !c.Reserve() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := c.Connect(ctx, "198.18.0.1:80")
		if err != nil {
			return
		}
		s.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, s)
		if err := c.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		c.Close()
		if !ended(s) {
			t.Fatal("stream still open after the connection closed")
		}
		if err := c.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}
