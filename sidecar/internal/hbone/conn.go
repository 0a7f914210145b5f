package hbone

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Config tunes one connection. The zero value of a field means its default.
type Config struct {
	// MaxConcurrentStreams bounds the streams the peer may open (server side).
	// Default 100.
	MaxConcurrentStreams uint32
	// StreamWindow is the receive window of each stream: what a stream whose reader
	// stops may hold in memory. Default 1 MiB.
	StreamWindow uint32
	// ConnWindow is the receive window of the connection. Default 16 MiB.
	ConnWindow uint32
	// MaxHeaderBytes bounds a received header list (HPACK-decoded). Default 16 KiB.
	MaxHeaderBytes uint32
	// IdleTimeout closes the connection (GOAWAY first) when it has had no stream
	// for this long. Zero: never.
	IdleTimeout time.Duration
	// PingInterval pings the peer when nothing was read for this long, and closes
	// the connection when the ping is not answered within PingTimeout. Zero: never.
	PingInterval time.Duration
	// PingTimeout: see PingInterval. Default 15s.
	PingTimeout time.Duration
	// WriteTimeout bounds one write to the connection (a peer that stops reading).
	// Default 15s.
	WriteTimeout time.Duration
	// Logger reports recovered handler panics. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(v *uint32, d uint32) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxConcurrentStreams, 100)
	def(&c.StreamWindow, 1<<20)
	def(&c.ConnWindow, 16<<20)
	def(&c.MaxHeaderBytes, 16<<10)
	// At least the protocol's initial window: a peer may use that much before
	// our SETTINGS arrive.
	c.StreamWindow = min(max(c.StreamWindow, initialWindow), maxWindow)
	c.ConnWindow = min(max(c.ConnWindow, initialWindow+1), maxWindow)
	if c.PingTimeout == 0 {
		c.PingTimeout = 15 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

const (
	maxWindow       = 1<<31 - 1
	initialWindow   = 65535 // RFC 9113 §6.9.2, before SETTINGS say otherwise
	defaultFrame    = 16384
	maxAsyncWrites  = 1024
	maxWriteBurst   = 64 << 10 // DATA written per lock hold, so one stream cannot hog the wire
	writeBufSize    = 32 << 10
	readBufSize     = 32 << 10
	clientPreface   = http2.ClientPreface
	settingsTimeout = 10 * time.Second
)

// Conn is one HTTP/2 connection carrying CONNECT streams. Client conns open
// streams with Connect; server conns are run by Serve.
type Conn struct {
	nc     net.Conn
	cfg    Config
	client bool
	br     *bufio.Reader
	fr     *http2.Framer // reads in the read loop; writes under wmu

	// Writes: frames go on the wire in wmu order. waiting counts writers queued
	// for wmu; a writer flushes only when none is, so the last of a burst
	// flushes for all.
	wmu       sync.Mutex
	waiting   atomic.Int32
	bw        *bufio.Writer
	henc      *hpack.Encoder
	hbuf      bytes.Buffer
	nextID    uint32 // client: next stream ID, allocated under wmu so IDs go out in order
	wdeadline time.Time
	werr      error
	flushes   uint64 // flushLocked calls, so a yielding writer sees its frames went out

	framesRead  atomic.Uint64 // for the ping check
	asyncWrites atomic.Int32  // control frames queued by writeAsync

	// mu guards everything below and every stream's state.
	mu                sync.Mutex
	streams           map[uint32]*Stream
	reserved          int    // client: streams promised by Reserve, not yet opened
	lastPeerID        uint32 // server: highest stream ID the peer opened
	peerMaxStreams    uint32
	peerInitialWindow int32
	peerMaxFrame      uint32
	peerTableSize     uint32 // the peer's latest SETTINGS_HEADER_TABLE_SIZE
	sendWindow        int32  // the peer's connection window for our DATA
	recvWindow        int32  // what the peer may still send on the connection
	unacked           uint32 // consumed, not yet returned with WINDOW_UPDATE
	windowCh          chan struct{}
	windowWaiters     bool
	goaway            bool // no new streams: GOAWAY sent or received
	closed            bool
	err               error // why it closed
	done              chan struct{}
	idle              *time.Timer
	lastActive        time.Time // when the last stream ended, for the idle timeout
	handlers          sync.WaitGroup
	running           uint32 // server: handlers not yet returned (a reset stream's may still run)
	handler           func(*Stream)
	pings             *time.Timer
}

func newConn(nc net.Conn, cfg Config, client bool) *Conn {
	cfg.setDefaults()
	c := &Conn{
		nc: nc, cfg: cfg, client: client,
		br:                bufio.NewReaderSize(nc, readBufSize),
		bw:                bufio.NewWriterSize(nc, writeBufSize),
		streams:           map[uint32]*Stream{},
		peerMaxStreams:    100, // until the peer's SETTINGS arrive (its real limit may be lower)
		peerInitialWindow: initialWindow,
		peerMaxFrame:      defaultFrame,
		sendWindow:        initialWindow,
		recvWindow:        int32(cfg.ConnWindow),
		windowCh:          make(chan struct{}),
		done:              make(chan struct{}),
		nextID:            1,
		lastActive:        time.Now(),
	}
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = cfg.MaxHeaderBytes
	c.fr.SetReuseFrames()
	// We advertise no larger SETTINGS_MAX_FRAME_SIZE: a header claiming more is
	// refused before its buffer is allocated.
	c.fr.SetMaxReadFrameSize(defaultFrame)
	c.henc = hpack.NewEncoder(&c.hbuf)
	return c
}

// start sends the preface (client) and SETTINGS, opens the connection window,
// and starts the read loop.
func (c *Conn) start() error {
	settings := []http2.Setting{
		{ID: http2.SettingInitialWindowSize, Val: c.cfg.StreamWindow},
		{ID: http2.SettingMaxHeaderListSize, Val: c.cfg.MaxHeaderBytes},
	}
	if c.client {
		settings = append(settings, http2.Setting{ID: http2.SettingEnablePush, Val: 0})
	} else {
		settings = append(settings, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.cfg.MaxConcurrentStreams})
	}
	err := c.write(func(fr *http2.Framer) error {
		if c.client {
			if _, err := c.bw.WriteString(clientPreface); err != nil {
				return err
			}
		}
		if err := fr.WriteSettings(settings...); err != nil {
			return err
		}
		return fr.WriteWindowUpdate(0, c.cfg.ConnWindow-initialWindow)
	})
	if err != nil {
		return fmt.Errorf("hbone: write preface: %w", err)
	}
	if c.cfg.IdleTimeout > 0 {
		c.idle = time.AfterFunc(c.cfg.IdleTimeout, c.idleCheck)
	}
	if c.cfg.PingInterval > 0 {
		c.armPing(c.cfg.PingInterval, 0, false)
	}
	return nil
}

// write runs fn with the framer under the write lock and flushes unless another
// writer is queued behind it (that one flushes for both).
func (c *Conn) write(fn func(*http2.Framer) error) error {
	return c.writeFrames(fn, false)
}

// writeLast writes and flushes at once, with everything queued before: for the
// last frames before the connection closes (a writer that left its frames to a
// later flush may never get to it).
func (c *Conn) writeLast(fn func(*http2.Framer) error) error {
	return c.writeFrames(fn, true)
}

func (c *Conn) writeFrames(fn func(*http2.Framer) error, now bool) error {
	c.waiting.Add(1)
	c.wmu.Lock()
	c.waiting.Add(-1)
	if c.werr != nil {
		c.wmu.Unlock()
		return c.werr
	}
	// bufio flushes on its own when fn overflows it, so the write deadline
	// must be fresh before fn runs. Setting one is cheap but not free: it is
	// moved only once half of it has gone.
	if now := time.Now(); c.wdeadline.Sub(now) < c.cfg.WriteTimeout/2 {
		c.wdeadline = now.Add(c.cfg.WriteTimeout)
		c.nc.SetWriteDeadline(c.wdeadline)
	}
	err := fn(c.fr)
	if err == nil && !now && c.waiting.Load() == 0 && c.bw.Buffered() < writeBufSize/2 {
		// Let goroutines that are ready to run (streams woken by the same read,
		// answers that arrived together) add their frames first: one flush, one
		// TLS record and one syscall then carries them all. With nothing else
		// runnable, Gosched returns at once.
		gen := c.flushes
		c.wmu.Unlock()
		runtime.Gosched()
		c.wmu.Lock()
		if c.flushes != gen || c.werr != nil {
			err := c.werr
			c.wmu.Unlock()
			return err // flushed by a writer that came after us
		}
	}
	if now || c.waiting.Load() == 0 || err != nil || c.bw.Buffered() >= writeBufSize/2 {
		if ferr := c.flushLocked(); err == nil {
			err = ferr
		}
	}
	if err != nil {
		c.werr = fmt.Errorf("hbone: write: %w", err)
		go c.close(c.werr)
	}
	c.wmu.Unlock()
	if err != nil {
		return c.werr
	}
	return nil
}

func (c *Conn) flushLocked() error {
	c.flushes++
	if c.bw.Buffered() == 0 {
		return nil
	}
	return c.bw.Flush() // under the deadline writeFrames refreshed

}

// writeAsync writes control frames from the read loop without ever blocking it
// on the write lock (a writer stuck on a peer that does not read must not stop
// us from reading that peer).
func (c *Conn) writeAsync(fn func(*http2.Framer) error) {
	// A peer that floods frames needing an answer (PING, SETTINGS, resets) while
	// not reading ours would pile up writers without bound.
	if c.asyncWrites.Add(1) > maxAsyncWrites {
		c.asyncWrites.Add(-1)
		go c.close(errors.New("hbone: peer floods control frames without reading the answers"))
		return
	}
	go func() {
		defer c.asyncWrites.Add(-1)
		c.write(fn)
	}()
}

// encodeHeaders returns an HPACK block; call under wmu (the encoder's table must
// follow the order blocks go out).
func (c *Conn) encodeHeaders(fields ...hpack.HeaderField) []byte {
	c.hbuf.Reset()
	for _, f := range fields {
		c.henc.WriteField(f)
	}
	return c.hbuf.Bytes()
}

// readLoop reads frames until the connection fails, then closes it.
func (c *Conn) readLoop() {
	err := c.readFrames()
	if errors.Is(err, http2.ErrFrameTooLarge) {
		err = http2.ConnectionError(http2.ErrCodeFrameSize)
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		c.mu.Lock()
		last := c.lastPeerID
		c.mu.Unlock()
		c.writeLast(func(fr *http2.Framer) error { return fr.WriteGoAway(last, http2.ErrCode(ce), nil) })
	}
	c.close(err)
}

func (c *Conn) readFrames() error {
	if !c.client {
		c.nc.SetReadDeadline(time.Now().Add(settingsTimeout))
		var pre [len(clientPreface)]byte
		if _, err := io.ReadFull(c.br, pre[:]); err != nil || string(pre[:]) != clientPreface {
			return fmt.Errorf("hbone: bad client preface (err %v)", err)
		}
	}
	first := true
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				c.mu.Lock()
				if !c.client && se.StreamID%2 == 1 && se.StreamID > c.lastPeerID {
					c.lastPeerID = se.StreamID // a refused new stream was still opened (§5.1.1)
				}
				c.mu.Unlock()
				c.resetStream(se.StreamID, se.Code)
				continue
			}
			return err
		}
		c.framesRead.Add(1)
		if first {
			// The first frame must be SETTINGS (RFC 9113 §3.4).
			if g, ok := f.(*http2.GoAwayFrame); ok {
				return fmt.Errorf("hbone: peer refused the connection: GOAWAY %v %q", g.ErrCode, g.DebugData())
			}
			if _, ok := f.(*http2.SettingsFrame); !ok {
				return http2.ConnectionError(http2.ErrCodeProtocol)
			}
			first = false
			if !c.client {
				c.nc.SetReadDeadline(time.Time{})
			}
		}
		if err := c.dispatch(f); err != nil {
			return err
		}
	}
}

func (c *Conn) dispatch(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			data := f.Data
			c.writeAsync(func(fr *http2.Framer) error { return fr.WritePing(true, data) })
		}
	case *http2.RSTStreamFrame:
		c.onReset(f)
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // push is disabled
	}
	return nil // PRIORITY and unknown frames are ignored
}

func (c *Conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	var tableSize uint32
	var setTable bool
	c.mu.Lock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			c.peerMaxStreams = s.Val
		case http2.SettingInitialWindowSize:
			delta := int32(s.Val) - c.peerInitialWindow
			c.peerInitialWindow = int32(s.Val)
			for _, st := range c.streams {
				// A window may go negative or overflow (§6.9.2).
				if int64(st.sendWindow)+int64(delta) > maxWindow {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
				st.sendWindow += delta
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		case http2.SettingHeaderTableSize:
			tableSize, setTable = s.Val, true
		}
		return nil
	})
	c.wakeWritersLocked()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if setTable {
		c.mu.Lock()
		c.peerTableSize = tableSize
		c.mu.Unlock()
	}
	c.writeAsync(func(fr *http2.Framer) error {
		if setTable {
			// The latest limit, whatever order these answers run in.
			c.mu.Lock()
			limit := c.peerTableSize
			c.mu.Unlock()
			c.henc.SetMaxDynamicTableSizeLimit(limit)
		}
		return fr.WriteSettingsAck()
	})
	return nil
}

func (c *Conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		if int64(c.sendWindow)+int64(f.Increment) > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.sendWindow += int32(f.Increment)
		c.wakeWritersLocked()
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		return nil // a stream that has ended
	}
	if int64(st.sendWindow)+int64(f.Increment) > maxWindow {
		st.abortLocked(http2.ErrCodeFlowControl, errFlowControl)
		return nil
	}
	st.sendWindow += int32(f.Increment)
	c.wakeWritersLocked()
	return nil
}

// onData buffers a DATA frame's payload for its stream.
func (c *Conn) onData(f *http2.DataFrame) error {
	n := f.Length // padding counts against the windows too
	data := f.Data()
	c.mu.Lock()
	if int64(n) > int64(c.recvWindow) {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvWindow -= int32(n)
	st := c.streams[f.StreamID]
	if st == nil || st.remoteEnd || st.rerr != nil {
		// Data for an ended stream: hand its credit back at once.
		c.returnConnCreditLocked(n)
		c.mu.Unlock()
		if st == nil && c.openedLocked(f.StreamID) {
			return nil
		}
		if st == nil {
			return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream (§5.1)
		}
		c.resetStreamAsync(f.StreamID, http2.ErrCodeStreamClosed)
		return nil
	}
	if c.client && st.status == 0 {
		// DATA before the answer's HEADERS (§8.1).
		st.abortLocked(http2.ErrCodeProtocol, &StreamError{Code: http2.ErrCodeProtocol})
		c.returnConnCreditLocked(n)
		c.mu.Unlock()
		return nil
	}
	if int64(n) > int64(st.recvWindow) {
		st.abortLocked(http2.ErrCodeFlowControl, errFlowControl)
		c.returnConnCreditLocked(n)
		c.mu.Unlock()
		return nil
	}
	st.recvWindow -= int32(n)
	if pad := n - uint32(len(data)); pad > 0 {
		c.returnConnCreditLocked(pad)
		st.unacked += pad
	}
	if st.off > 0 && len(st.buf)+len(data) > cap(st.buf) {
		// Move the unread bytes to the front rather than grow: a reader that
		// never quite catches up must not make the buffer grow with every byte
		// the stream carries (the window bounds only what is unread).
		st.buf, st.off = st.buf[:copy(st.buf, st.buf[st.off:])], 0
	}
	st.buf = append(st.buf, data...)
	if f.StreamEnded() {
		st.remoteEnd = true
		st.maybeRemoveLocked()
	}
	c.mu.Unlock()
	st.wakeReader()
	return nil
}

// openedLocked reports whether id names a stream that existed once (so frames
// for it may still arrive after it ended).
func (c *Conn) openedLocked(id uint32) bool {
	if c.client {
		return id%2 == 1 && id < c.nextID
	}
	return id%2 == 1 && id <= c.lastPeerID
}

func (c *Conn) onReset(f *http2.RSTStreamFrame) {
	c.mu.Lock()
	if st := c.streams[f.StreamID]; st != nil {
		err := error(&StreamError{Code: f.ErrCode})
		if f.ErrCode == http2.ErrCodeRefusedStream {
			err = ErrRefused
		}
		if f.ErrCode == http2.ErrCodeNo && st.remoteEnd {
			err = nil // "stop sending": the peer has all it wants (§8.1)
		}
		st.endLocked(err)
	}
	c.mu.Unlock()
}

func (c *Conn) onGoAway(f *http2.GoAwayFrame) {
	c.mu.Lock()
	c.goaway = true
	for id, st := range c.streams {
		if c.client && id > f.LastStreamID {
			st.endLocked(ErrRefused) // never processed: safe to retry elsewhere
		}
	}
	c.mu.Unlock()
}

// resetStream ends a stream with code, telling the peer.
func (c *Conn) resetStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		st.endLocked(&StreamError{Code: code})
	}
	c.mu.Unlock()
	c.resetStreamAsync(id, code)
}

func (c *Conn) resetStreamAsync(id uint32, code http2.ErrCode) {
	c.writeAsync(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, code) })
}

// returnConnCreditLocked counts n received bytes as consumed on the connection
// and returns the window to the peer once half of it is used up.
func (c *Conn) returnConnCreditLocked(n uint32) {
	c.unacked += n
	if c.unacked >= c.cfg.ConnWindow/2 {
		inc := c.unacked
		c.unacked = 0
		c.recvWindow += int32(inc)
		c.writeAsync(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, inc) })
	}
}

// wakeWritersLocked tells writers waiting for a window (or for the end of their
// stream) to look again.
func (c *Conn) wakeWritersLocked() {
	if c.windowWaiters {
		close(c.windowCh)
		c.windowCh = make(chan struct{})
		c.windowWaiters = false
	}
}

// Done is closed when the connection has closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection closed (nil while it is open).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection at once; open streams fail.
func (c *Conn) Close() error {
	c.close(ErrClosed)
	return nil
}

func (c *Conn) close(err error) {
	if err == nil {
		err = ErrClosed
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.goaway, c.err = true, true, err
	for _, st := range c.streams {
		st.endLocked(fmt.Errorf("%w: %w", ErrClosed, err))
	}
	c.wakeWritersLocked()
	if c.idle != nil {
		c.idle.Stop()
	}
	if c.pings != nil {
		c.pings.Stop()
	}
	close(c.done)
	c.mu.Unlock()
	c.nc.Close()
}

// Shutdown sends GOAWAY, lets open streams finish, and closes the connection
// when they have or when ctx ends.
func (c *Conn) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.goaway = true
	last := c.lastPeerID
	c.mu.Unlock()
	c.writeLast(func(fr *http2.Framer) error { return fr.WriteGoAway(last, http2.ErrCodeNo, nil) })
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		n := len(c.streams)
		c.mu.Unlock()
		if n == 0 {
			// The last stream's frames may wait for a flush that a yielding
			// writer has not done yet.
			c.writeLast(func(*http2.Framer) error { return nil })
			c.drain(ctx)
			return nil
		}
		select {
		case <-ctx.Done():
			c.Close()
			return ctx.Err()
		case <-c.done:
			return nil
		case <-t.C:
		}
	}
}

// drain waits a moment after GOAWAY before closing: a stream the peer opened
// before it read the GOAWAY should meet a refusal it can retry elsewhere, not a
// closed socket whose reset may also destroy the GOAWAY in flight.
func (c *Conn) drain(ctx context.Context) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-c.done: // the peer closed first
	case <-t.C:
	case <-ctx.Done():
	}
	c.Close()
}

// idleCheck closes a connection that has had no stream for IdleTimeout since its
// last one ended.
func (c *Conn) idleCheck() {
	c.mu.Lock()
	busy := len(c.streams) > 0 || c.reserved > 0
	quiet := time.Since(c.lastActive)
	if !c.closed && (busy || quiet < c.cfg.IdleTimeout) {
		wait := c.cfg.IdleTimeout
		if !busy {
			wait -= quiet
		}
		c.idle.Reset(wait)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.Shutdown(context.Background())
}

// pingCheck runs on the ping timer: it pings when nothing was read for
// PingInterval, and closes the connection when even the ping's answer does not
// come within PingTimeout.
func (c *Conn) pingCheck(seen uint64, pinged bool) {
	now := c.framesRead.Load()
	switch {
	case now != seen:
		c.armPing(c.cfg.PingInterval, now, false)
	case pinged:
		c.close(errors.New("hbone: ping not answered"))
	default:
		c.write(func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{'h', 'b', 'o', 'n', 'e'}) })
		c.armPing(c.cfg.PingTimeout, now, true)
	}
}

func (c *Conn) armPing(d time.Duration, seen uint64, pinged bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.pings = time.AfterFunc(d, func() { c.pingCheck(seen, pinged) })
	}
}
