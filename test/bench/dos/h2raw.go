package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2conn is a raw HTTP/2 client connection for attacks: frames go out exactly as
// an attack writes them (buffered, flushed by the attack), and a reader
// discards what comes back, acknowledging SETTINGS and recording how the server
// ends the connection.
type h2conn struct {
	c         net.Conn
	bw        *bufio.Writer
	fr        *http2.Framer
	wmu       sync.Mutex // guards bw, fr writes, enc, hbuf
	enc       *hpack.Encoder
	hbuf      bytes.Buffer
	next      uint32 // next client stream id
	authority string

	maxStreams atomic.Uint32 // server's SETTINGS_MAX_CONCURRENT_STREAMS (0: unknown)
	resets     atomic.Int64  // RST_STREAM frames received
	refused    atomic.Int64  // of which REFUSED_STREAM
	goaway     atomic.Int64  // GOAWAY error code + 1 (0: none)
	writeErr   atomic.Value  // error: a write failed as the server closed or reset the connection
	flow       flow          // send windows the server granted
	paused     atomic.Bool   // the reader stops after its current frame ...
	resume     chan struct{} // ... until this is closed
	settings   chan struct{} // closed on the server's first SETTINGS
	done       chan struct{} // closed when the reader stops
	readErr    error
}

// dialH2 connects (TLS when tc is set), sends the preface and settings and
// starts the reader. The connection lives until ctx ends or close.
func dialH2(ctx context.Context, addr string, tc *tls.Config, settings ...http2.Setting) (*h2conn, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if tc != nil {
		t := tls.Client(c, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("tls %s: %w", addr, err)
		}
		c = t
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl.Add(time.Second))
	}
	h := &h2conn{c: c, bw: bufio.NewWriterSize(c, 64<<10), next: 1, authority: addr,
		settings: make(chan struct{}), done: make(chan struct{}), resume: make(chan struct{}),
		flow: flow{conn: 65535, initial: 65535, streams: map[uint32]int64{}}}
	h.fr = http2.NewFramer(h.bw, c)
	h.enc = hpack.NewEncoder(&h.hbuf)
	_, _ = h.bw.WriteString(http2.ClientPreface)
	_ = h.fr.WriteSettings(settings...)
	if err := h.bw.Flush(); err != nil {
		c.Close()
		return nil, fmt.Errorf("preface: %w", err)
	}
	go h.read()
	context.AfterFunc(ctx, func() { h.c.Close() })
	select { // attacks size themselves by the server's limits
	case <-h.settings:
	case <-h.done:
	case <-time.After(3 * time.Second):
	}
	return h, nil
}

func (h *h2conn) close() { h.c.Close(); h.resumeReads(); <-h.done }

// pauseReads stops reading what the server sends, so its answers pile up on
// its side; resumeReads (once) reads again.
func (h *h2conn) pauseReads() { h.paused.Store(true) }

func (h *h2conn) resumeReads() {
	if h.paused.CompareAndSwap(true, false) {
		close(h.resume)
	}
}

func (h *h2conn) closed() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// endedBy says how the server ended the connection: "GOAWAY <code>", "EOF",
// the error a read or write saw, or "" while it is open or we closed it.
func (h *h2conn) endedBy() string {
	if g := h.goaway.Load(); g > 0 {
		return "GOAWAY " + http2.ErrCode(g-1).String()
	}
	if !h.closed() {
		return ""
	}
	var ne net.Error
	switch {
	case h.writeErr.Load() != nil:
		return "write: " + lastPart(h.writeErr.Load().(error))
	case h.readErr == nil:
		return "EOF"
	case errors.As(h.readErr, &ne) && ne.Timeout():
		return "" // our own deadline: the server kept it open
	case errors.Is(h.readErr, net.ErrClosed):
		return "" // we closed it
	default:
		return lastPart(h.readErr)
	}
}

// lastPart is the innermost message of an error chain ("connection reset by peer").
func lastPart(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func (h *h2conn) read() {
	defer close(h.done)
	gotSettings := false
	for {
		if h.paused.Load() {
			<-h.resume
		}
		f, err := h.fr.ReadFrame()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				h.readErr = err
			}
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok {
				h.maxStreams.Store(v)
			}
			if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
				h.flow.setInitial(int64(v))
			}
			h.write(func() error { return h.fr.WriteSettingsAck() })
			if !gotSettings {
				gotSettings = true
				close(h.settings)
			}
		case *http2.WindowUpdateFrame:
			h.flow.grant(f.StreamID, int64(f.Increment))
		case *http2.RSTStreamFrame:
			h.flow.forget(f.StreamID)
			h.resets.Add(1)
			if f.ErrCode == http2.ErrCodeRefusedStream {
				h.refused.Add(1)
			}
		case *http2.GoAwayFrame:
			h.goaway.CompareAndSwap(0, int64(f.ErrCode)+1)
		}
	}
}

// write runs one framer write and flushes; an error closes the connection.
func (h *h2conn) write(fn func() error) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	err := fn()
	if err == nil {
		err = h.bw.Flush()
	}
	if err != nil {
		var ne net.Error
		if !errors.Is(err, net.ErrClosed) && !(errors.As(err, &ne) && ne.Timeout()) {
			h.writeErr.CompareAndSwap(nil, err)
		}
		h.c.Close()
	}
	return err
}

// flood writes frames with fn until ctx ends, limit frames are out or the server
// ends the connection, in flushed batches of 64 (the reader may answer in
// between), and returns how many it wrote.
func (h *h2conn) flood(ctx context.Context, limit int, fn func(i int) error) int {
	n := 0
	for n < limit && ctx.Err() == nil && !h.closed() {
		err := h.write(func() error {
			for end := min(n+64, limit); n < end; n++ {
				if err := fn(n); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			break
		}
	}
	return n
}

// block encodes a header block: a request for path plus extra fields.
// Callers hold wmu.
func (h *h2conn) block(method, path string, extra ...hpack.HeaderField) []byte {
	h.hbuf.Reset()
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: method}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: path}, {Name: ":authority", Value: h.authority}} {
		_ = h.enc.WriteField(f)
	}
	for _, f := range extra {
		_ = h.enc.WriteField(f)
	}
	return bytes.Clone(h.hbuf.Bytes())
}

// open writes HEADERS for a new stream (callers hold wmu) and returns its id.
func (h *h2conn) open(method, path string, endStream bool, extra ...hpack.HeaderField) (uint32, error) {
	id := h.next
	h.next += 2
	return id, h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.block(method, path, extra...),
		EndStream: endStream, EndHeaders: true})
}

// flow tracks how much DATA the server lets us send, per connection and stream.
type flow struct {
	mu      sync.Mutex
	conn    int64
	initial int64
	streams map[uint32]int64
}

func (f *flow) setInitial(v int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.streams {
		f.streams[id] += v - f.initial
	}
	f.initial = v
}

func (f *flow) grant(id uint32, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id == 0 {
		f.conn += n
	} else if _, ok := f.streams[id]; ok {
		f.streams[id] += n
	}
}

func (f *flow) track(id uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.streams[id] = f.initial
}

func (f *flow) forget(id uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.streams, id)
}

// take reserves up to want bytes on stream id and returns how many it may send.
func (f *flow) take(id uint32, want int64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.streams[id]
	if !ok {
		return 0
	}
	n := max(min(want, w, f.conn), 0)
	f.streams[id] -= n
	f.conn -= n
	return n
}
