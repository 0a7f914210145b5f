package hbone

import (
	"context"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHeldMemoryBoundedByWindows: a peer that fills every window it is given
// and never opens its own, against handlers that never read, makes the
// connection hold at most its windows: per stream StreamWindow (plus chunk
// rounding), per connection ConnWindow. The bytes past them are a flow-control
// error, not buffered.
func TestHeldMemoryBoundedByWindows(t *testing.T) {
	const streams = 16
	cfg := Config{StreamWindow: 256 << 10, ConnWindow: 2 << 20}
	conns := make(chan *Conn, streams)
	release := make(chan struct{})
	client, server := net.Pipe()
	defer client.Close()
	answer := make([]byte, 1<<20) // one for every handler, allocated before the baseline
	served := make(chan struct{})
	go func() {
		defer close(served)
		Serve(context.Background(), server, cfg, func(s *Stream) {
			s.Accept()
			conns <- s.c
			// Writes wait for a window the peer never opens: nothing queues.
			s.SetWriteDeadline(time.Now().Add(10 * time.Second))
			go func() { <-release; s.SetWriteDeadline(time.Now()) }()
			s.Write(answer)
		})
	}()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	fr := http2.NewFramer(client, client)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	acks := make(chan struct{}, 1)
	goaway := make(chan http2.ErrCode, 1)
	go func() {
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.PingFrame:
				acks <- struct{}{}
			case *http2.GoAwayFrame:
				goaway <- f.ErrCode
			}
		}
	}()
	io.WriteString(client, http2.ClientPreface)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	// Fill the connection window exactly, stream by stream.
	sent, chunk := 0, make([]byte, 16<<10)
	for i := range streams {
		id := uint32(2*i + 1)
		headers(id, ":method", "CONNECT", ":authority", "198.18.0.1:80")(fr)
		for n := 0; n < int(cfg.StreamWindow) && sent < int(cfg.ConnWindow); n += len(chunk) {
			fr.WriteData(id, false, chunk)
			sent += len(chunk)
		}
	}
	fr.WritePing(false, [8]byte{})
	<-acks // every frame before the ping has been handled
	c := <-conns

	held, unread := heldBytes(t, c, cfg)
	if unread != int(cfg.ConnWindow) {
		t.Errorf("%d bytes unread, want the connection window %d", unread, cfg.ConnWindow)
	}
	if max := int(cfg.ConnWindow) + streams*2*chunkSize; held > max {
		t.Errorf("connection holds %d bytes, more than its window plus rounding (%d)", held, max)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grew > 3*int64(cfg.ConnWindow) {
		t.Errorf("heap grew by %d KiB for a %d KiB window", grew>>10, cfg.ConnWindow>>10)
	}
	t.Logf("%d streams: %d KiB unread, %d KiB held in chunks, heap +%d KiB", streams, unread>>10, held>>10, grew>>10)

	// One byte more than the window is the peer's error, never buffered.
	fr.WriteData(uint32(2*streams-1), false, []byte("x"))
	if code := <-goaway; code != http2.ErrCodeFlowControl {
		t.Errorf("a byte past the connection window: GOAWAY %v, want FLOW_CONTROL_ERROR", code)
	}
	close(release)
	client.Close()
	<-served
	if held, _ := heldBytes(t, c, cfg); held != 0 {
		t.Errorf("%d bytes still held after the connection closed", held)
	}
}

// heldBytes sums what the connection's streams hold and have unread, checking
// each stream against its window.
func heldBytes(t *testing.T, c *Conn, cfg Config) (held, unread int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.streams {
		if st.rb.len() > int(cfg.StreamWindow) || st.rb.held() > int(cfg.StreamWindow)+2*chunkSize {
			t.Errorf("stream %d: %d unread, %d held, window %d", st.id, st.rb.len(), st.rb.held(), cfg.StreamWindow)
		}
		held += st.rb.held()
		unread += st.rb.len()
	}
	return held, unread
}

func headers(id uint32, kv ...string) func(*http2.Framer) {
	return func(fr *http2.Framer) {
		var buf bytesBuffer
		enc := hpack.NewEncoder(&buf)
		for i := 0; i+1 < len(kv); i += 2 {
			enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf, EndHeaders: true})
	}
}

type bytesBuffer []byte

func (b *bytesBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// TestControlQueueBounded: a peer that keeps asking for answers while not
// reading them fills the control queue to its bound and no further; the one
// writer goroutine is all that waits on the wire.
func TestControlQueueBounded(t *testing.T) {
	client, server := net.Pipe() // nobody reads client: the writer blocks
	defer client.Close()
	c := newConn(server, Config{WriteTimeout: time.Minute}, false)
	base := runtime.NumGoroutine()
	for range 3 * maxQueuedControl {
		c.queueControl(ctlFrame{kind: ctlPingAck})
	}
	if !c.ctlq.overflow.Load() {
		t.Error("queue past its bound not reported")
	}
	if g := runtime.NumGoroutine() - base; g > 1 {
		t.Errorf("%d goroutines for %d queued answers", g, 3*maxQueuedControl)
	}
	n := c.ctlq.len()
	if n > maxQueuedControl {
		t.Errorf("%d control frames queued, bound %d", n, maxQueuedControl)
	}
	c.Close()
}
