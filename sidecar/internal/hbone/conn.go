package hbone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Conn is one HTTP/2 connection carrying CONNECT streams. Client conns open
// streams with Connect; server conns are run by Serve.
type Conn struct {
	nc     net.Conn
	cfg    Config
	client bool
	br     *readBuf
	fr     *http2.Framer // reads in the read loop; writes under wmu

	// Writes: frames go on the wire in wmu order. waiting counts writers queued
	// for wmu; a writer flushes only when none is, so the last of a burst
	// flushes for all.
	wmu       sync.Mutex
	waiting   atomic.Int32
	bw        *writeBuf
	henc      *hpack.Encoder
	hbuf      bytes.Buffer
	nextID    uint32 // client: next stream ID, allocated under wmu so IDs go out in order
	wdeadline time.Time
	werr      error
	flushes   uint64 // flushLocked calls, so a yielding writer sees its frames went out

	open          atomic.Int32  // len(streams), read without mu by writers
	framesRead    atomic.Uint64 // for the ping check
	streamsOpened atomic.Uint64 // either direction, for the budgets
	dataSent      atomic.Uint64 // DATA frames written, for the WINDOW_UPDATE budget
	budget        budgets       // read loop only

	// Control frames the read loop answers with, queued in order (control.go).
	ctlq       controlQueue
	ctlDrainer atomic.Bool // a drainControl goroutine runs
	ending     atomic.Bool // the read loop gives the last GOAWAY a short deadline

	// mu guards everything below and every stream's state.
	mu                sync.Mutex
	streams           map[uint32]*Stream
	reserved          int    // client: streams promised by Reserve, not yet opened
	lastPeerID        uint32 // server: highest stream ID the peer opened
	peerMaxStreams    uint32
	peerInitialWindow int32
	peerMaxInitial    int32 // the largest initial window the peer set: a send window is at least peerInitialWindow minus it
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
		br:                &readBuf{r: nc},
		bw:                &writeBuf{w: nc},
		streams:           map[uint32]*Stream{},
		peerMaxStreams:    100, // until the peer's SETTINGS arrive (its real limit may be lower)
		peerInitialWindow: initialWindow,
		peerMaxInitial:    initialWindow,
		peerMaxFrame:      defaultFrame,
		sendWindow:        initialWindow,
		recvWindow:        int32(cfg.ConnWindow),
		windowCh:          make(chan struct{}),
		done:              make(chan struct{}),
		nextID:            1,
		lastActive:        time.Now(),
	}
	c.fr = http2.NewFramer(c.bw, &frameMeter{r: c.br})
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
			if _, err := c.bw.Write([]byte(clientPreface)); err != nil {
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
	// bw flushes on its own when fn overflows it, so the write deadline
	// must be fresh before fn runs. Setting one is cheap but not free: it is
	// moved only once half of it has gone.
	if now := time.Now(); c.wdeadline.Sub(now) < c.cfg.WriteTimeout/2 && !c.ending.Load() {
		c.wdeadline = now.Add(c.cfg.WriteTimeout)
		c.nc.SetWriteDeadline(c.wdeadline)
	}
	var err error
	if c.ctlq.len() > 0 {
		err = c.writeControlLocked(c.fr) // answers go before what follows them
	}
	if err == nil {
		err = fn(c.fr)
	}
	if err == nil && !now && c.waiting.Load() == 0 && c.open.Load() > 1 && c.bw.Buffered() < ioBufSize/2 {
		// Let goroutines that are ready to run (streams woken by the same read,
		// answers that arrived together) add their frames first: one flush, one
		// TLS record and one syscall then carries them all. With nothing else
		// runnable, Gosched returns at once. With one stream open no other
		// stream's writer can join: yielding would only let unrelated goroutines
		// run first (one P) and delay this flush.
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
	if now || c.waiting.Load() == 0 || err != nil || c.bw.Buffered() >= ioBufSize/2 {
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

// encodeHeaders returns an HPACK block; call under wmu (the encoder's table must
// follow the order blocks go out).
func (c *Conn) encodeHeaders(fields ...hpack.HeaderField) []byte {
	c.hbuf.Reset()
	for _, f := range fields {
		c.henc.WriteField(f)
	}
	return c.hbuf.Bytes()
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
