package hbone_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// writer is a handler that accepts the tunnel and writes everything sent on
// its channel, reporting each Write's result; nil sets a write deadline 100 ms
// away for what follows, an empty slice clears it.
func writer(in <-chan []byte, results chan<- error) func(*hbone.Stream) {
	return func(s *hbone.Stream) {
		if s.Accept() != nil {
			return
		}
		for b := range in {
			switch {
			case b == nil:
				s.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				continue
			case len(b) == 0:
				s.SetWriteDeadline(time.Time{})
				continue
			}
			_, err := s.Write(b)
			results <- err
		}
		s.CloseWrite()
	}
}

// TestInitialWindowChanges: SETTINGS_INITIAL_WINDOW_SIZE changed while
// streams are open moves every open stream's send window by the difference,
// down below zero as well as up (RFC 9113 §6.9.2); the peer's accounting
// (peer.account) fails the test on any byte past a window.
func TestInitialWindowChanges(t *testing.T) {
	in := make(chan []byte, 10)
	results := make(chan error, 10)
	payload := bytes.Repeat([]byte("0123456789"), 10) // 100 bytes per stream
	p := newPeer(t, hbone.Config{}, writer(in, results),
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	p.open(1)
	p.open(3)
	in <- payload // the handlers share in: each takes one payload
	in <- payload
	close(in)
	p.until(func() bool { return len(p.got[1]) == 10 && len(p.got[3]) == 10 })
	p.quiet()

	// Up with streams open: each stream may send 40 more.
	p.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 50})
	p.until(func() bool { return len(p.got[1]) == 50 && len(p.got[3]) == 50 })
	p.quiet()

	// Down to 0: both windows go to -50. Credit of 60 leaves 10 each.
	p.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	p.quiet()
	p.windowUpdate(1, 60)
	p.windowUpdate(3, 30) // stream 3 stays at -20: nothing
	p.until(func() bool { return len(p.got[1]) == 60 })
	p.quiet()
	if n := len(p.got[3]); n != 50 {
		t.Fatalf("stream 3 sent %d bytes with its window at -20", n)
	}

	// Back up: stream 3 (-20) opens by 100 to 80, stream 1 (0) to 100.
	p.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
	p.until(func() bool { return len(p.got[1]) == 100 && len(p.got[3]) == 100 })
	for id, got := range p.got {
		if !bytes.Equal(got, payload) {
			t.Fatalf("stream %d carried %q", id, got)
		}
	}
	for range 2 {
		if err := <-results; err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// TestHeaderTableSizeChange: after the peer lowers SETTINGS_HEADER_TABLE_SIZE
// to 0 mid-connection, the first header block after the SETTINGS ack starts
// with a table size update to 0 (RFC 7541 §4.2) and no block references the
// dynamic table any more: a decoder without one decodes them.
func TestHeaderTableSizeChange(t *testing.T) {
	hdr := http.Header{"X-Long-Field": {"a value long enough to be worth indexing"}}
	p := newPeer(t, hbone.Config{}, func(s *hbone.Stream) { s.Respond(http.StatusForbidden, hdr, nil) })
	dec := hpack.NewDecoder(4096, nil)
	response := func(id uint32) []byte {
		p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true,
			BlockFragment: block(":method", "CONNECT", ":authority", "198.18.0.1:80")})
		f := p.next(func(f frame) bool { h, ok := f.Frame.(*http2.HeadersFrame); return ok && h.StreamID == id })
		if got := decode(t, dec, f.block); got[":status"] != "403" || got["x-long-field"] != hdr.Get("X-Long-Field") {
			t.Fatalf("stream %d answered %v", id, got)
		}
		return f.block
	}
	response(1)
	if second := response(3); len(second) > 4 {
		t.Fatalf("second identical answer took %d bytes: the encoder does not index (the test needs it to)", len(second))
	}
	p.settings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0})
	dec.SetAllowedMaxDynamicTableSize(0)
	for _, id := range []uint32{5, 7} {
		b := response(id)
		if id == 5 && (len(b) == 0 || b[0] != 0x20) {
			t.Fatalf("first block after the ack starts %x, want a table size update to 0 (20)", b)
		}
		decode(t, hpack.NewDecoder(0, nil), b)
	}
}

// TestGoAwayWithStreamsInFlight: the server's GOAWAY lets streams it
// processed finish in both directions and refuses newer ones; the client's
// GOAWAY leaves the server's open streams running.
func TestGoAwayWithStreamsInFlight(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		p := newPeer(t, hbone.Config{}, echo)
		p.open(1)
		p.open(3)
		go p.conn.Shutdown(context.Background())
		g := p.next(func(f frame) bool { _, ok := f.Frame.(*http2.GoAwayFrame); return ok }).Frame.(*http2.GoAwayFrame)
		if g.LastStreamID != 3 || g.ErrCode != http2.ErrCodeNo {
			t.Fatalf("GOAWAY last %d %v, want 3 NO_ERROR", g.LastStreamID, g.ErrCode)
		}
		// A stream opened after the GOAWAY left is refused, safe to retry.
		p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, EndHeaders: true,
			BlockFragment: block(":method", "CONNECT", ":authority", "198.18.0.1:80")})
		r := p.next(func(f frame) bool { _, ok := f.Frame.(*http2.RSTStreamFrame); return ok }).Frame.(*http2.RSTStreamFrame)
		if r.StreamID != 5 || r.ErrCode != http2.ErrCodeRefusedStream {
			t.Fatalf("stream opened after GOAWAY: RST_STREAM %d %v, want 5 REFUSED_STREAM", r.StreamID, r.ErrCode)
		}
		for _, id := range []uint32{3, 1} {
			p.fr.WriteData(id, true, []byte{byte('0' + id)})
			p.next(func(f frame) bool {
				d, ok := f.Frame.(*http2.DataFrame)
				return ok && d.StreamID == id && d.StreamEnded()
			})
			if got := string(p.got[id]); got != string(rune('0'+id)) {
				t.Fatalf("stream %d after GOAWAY echoed %q", id, got)
			}
		}
		select {
		case <-p.conn.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("connection not closed after its last stream")
		}
	})
	t.Run("client", func(t *testing.T) {
		p := newPeer(t, hbone.Config{}, echo)
		p.open(1)
		p.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		p.fr.WriteData(1, true, []byte("after goaway"))
		p.next(func(f frame) bool { d, ok := f.Frame.(*http2.DataFrame); return ok && d.StreamEnded() })
		if got := string(p.got[1]); got != "after goaway" {
			t.Fatalf("stream open when the client sent GOAWAY echoed %q", got)
		}
	})
}

// TestClientGoAway: our client, told GOAWAY with streams in flight, fails
// only the stream above the last one the server processed, with ErrRefused
// (safe to retry elsewhere), opens no new ones, and the others carry on.
func TestClientGoAway(t *testing.T) {
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	fr := http2.NewFramer(server, server)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	frames := make(chan http2.Frame, 64)
	go func() {
		defer close(frames)
		io.ReadFull(server, make([]byte, len(http2.ClientPreface)))
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if d, ok := f.(*http2.DataFrame); ok { // the framer reuses DATA's buffer
				frames <- &dataCopy{id: d.StreamID, data: string(d.Data()), end: d.StreamEnded()}
				continue
			}
			frames <- f
		}
	}()
	next := func(match func(http2.Frame) bool) http2.Frame {
		t.Helper()
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatal("client closed the connection")
				}
				if match(f) {
					return f
				}
			case <-time.After(5 * time.Second):
				t.Fatal("timed out waiting for the client")
			}
		}
	}
	// net.Pipe does not buffer: our SETTINGS go out once the client reads.
	sent := make(chan struct{})
	go func() { fr.WriteSettings(); close(sent) }()
	c, err := hbone.Client(client, hbone.Config{})
	if err != nil {
		t.Fatal(err)
	}
	<-sent
	t.Cleanup(func() { c.Close() })
	type result struct {
		s   *hbone.Stream
		err error
	}
	open := func(answer bool) (uint32, chan result) {
		ch := make(chan result, 1)
		go func() {
			s, err := connect(t, c, "198.18.0.1:80")
			ch <- result{s, err}
		}()
		h := next(func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok }).(*http2.MetaHeadersFrame)
		if answer {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: h.StreamID, EndHeaders: true, BlockFragment: block(":status", "200")})
		}
		return h.StreamID, ch
	}
	id1, r1 := open(true)
	id3, r3 := open(true)
	id5, r5 := open(false)
	if id1 != 1 || id3 != 3 || id5 != 5 {
		t.Fatalf("stream IDs %d %d %d", id1, id3, id5)
	}
	fr.WriteGoAway(3, http2.ErrCodeNo, nil)
	if r := <-r5; !errors.Is(r.err, hbone.ErrRefused) {
		t.Fatalf("stream above the GOAWAY's last: %v, want ErrRefused", r.err)
	}
	if c.Reserve() {
		t.Fatal("Reserve gave a stream after GOAWAY")
	}
	var streams []*hbone.Stream
	for _, r := range []chan result{r1, r3} {
		res := <-r
		if res.err != nil {
			t.Fatalf("stream the server processed: %v", res.err)
		}
		streams = append(streams, res.s)
		res.s.Write([]byte("up"))
		res.s.CloseWrite()
	}
	up, ended := map[uint32]string{}, 0
	for ended < 2 {
		d := next(func(f http2.Frame) bool { _, ok := f.(*dataCopy); return ok }).(*dataCopy)
		up[d.id] += d.data
		if d.end {
			ended++
		}
	}
	if up[1] != "up" || up[3] != "up" {
		t.Fatalf("server received %v after its GOAWAY", up)
	}
	for i, s := range streams {
		fr.WriteData(uint32(2*i+1), true, []byte("down"))
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if got, err := io.ReadAll(s); err != nil || string(got) != "down" {
			t.Fatalf("stream %d after GOAWAY read %q, %v", 2*i+1, got, err)
		}
	}
}

// dataCopy is a DATA frame's payload copied off the framer's buffer.
type dataCopy struct {
	http2.Frame
	id   uint32
	data string
	end  bool
}

// TestWindowEdge: a write that exactly fills the peer's stream or connection
// window returns without waiting; one byte more waits for credit; a peer that
// sends exactly our receive window is within it, one byte more is its
// FLOW_CONTROL_ERROR.
func TestWindowEdge(t *testing.T) {
	t.Run("send stream window", func(t *testing.T) {
		in := make(chan []byte, 4)
		results := make(chan error, 4)
		p := newPeer(t, hbone.Config{}, writer(in, results), http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
		p.open(1)
		in <- bytes.Repeat([]byte("x"), 10)
		if err := <-results; err != nil {
			t.Fatalf("write of exactly the window: %v", err)
		}
		in <- nil
		in <- []byte("y")
		if err := <-results; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write past the window: %v, want a deadline error", err)
		}
		p.quiet()
		in <- []byte{}
		p.windowUpdate(1, 1)
		in <- []byte("z")
		close(in)
		if err := <-results; err != nil {
			t.Fatalf("write of the one byte credited: %v", err)
		}
		p.until(func() bool { return len(p.got[1]) == 11 })
		if got := string(p.got[1]); got != "xxxxxxxxxxz" {
			t.Fatalf("stream carried %q", got)
		}
	})
	t.Run("send connection window", func(t *testing.T) {
		in := make(chan []byte, 4)
		results := make(chan error, 4)
		p := newPeer(t, hbone.Config{}, writer(in, results), http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		p.open(1)
		in <- make([]byte, 65535) // the connection's initial window
		if err := <-results; err != nil {
			t.Fatalf("write of exactly the connection window: %v", err)
		}
		in <- nil
		in <- []byte("y")
		if err := <-results; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write past the connection window: %v, want a deadline error", err)
		}
		in <- []byte{}
		p.windowUpdate(0, 1)
		in <- []byte("z")
		close(in)
		if err := <-results; err != nil {
			t.Fatalf("write of the one byte credited: %v", err)
		}
		p.until(func() bool { return len(p.got[1]) == 65536 })
	})
	t.Run("receive stream window", func(t *testing.T) {
		cfg := hbone.Config{StreamWindow: 64 << 10, ConnWindow: 1 << 20}
		p := newPeer(t, cfg, func(s *hbone.Stream) { s.Accept(); <-s.Done() }) // never reads
		p.open(1)
		for range 4 {
			p.fr.WriteData(1, false, make([]byte, 16<<10)) // 64 KiB: exactly the window
		}
		p.quiet() // no RST_STREAM on the way
		if err := p.conn.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		p.fr.WriteData(1, false, []byte{0})
		r := p.next(func(f frame) bool { _, ok := f.Frame.(*http2.RSTStreamFrame); return ok }).Frame.(*http2.RSTStreamFrame)
		if r.ErrCode != http2.ErrCodeFlowControl {
			t.Fatalf("a byte past the stream window: %v, want FLOW_CONTROL_ERROR", r.ErrCode)
		}
	})
	t.Run("receive connection window", func(t *testing.T) {
		cfg := hbone.Config{StreamWindow: 64 << 10, ConnWindow: 128 << 10}
		p := newPeer(t, cfg, func(s *hbone.Stream) { s.Accept(); <-s.Done() }) // never reads
		p.open(1)
		p.open(3)
		for _, id := range []uint32{1, 3} {
			for range 4 {
				p.fr.WriteData(id, false, make([]byte, 16<<10))
			}
		}
		p.quiet()
		if err := p.conn.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		p.open(5)
		p.fr.WriteData(5, false, []byte{0})
		g := p.next(func(f frame) bool { _, ok := f.Frame.(*http2.GoAwayFrame); return ok }).Frame.(*http2.GoAwayFrame)
		if g.ErrCode != http2.ErrCodeFlowControl {
			t.Fatalf("a byte past the connection window: GOAWAY %v, want FLOW_CONTROL_ERROR", g.ErrCode)
		}
	})
}
