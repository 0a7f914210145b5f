package hbone

import (
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"
)

// maxQueuedControl bounds the control frames (acks, resets, window updates)
// waiting for the wire on one connection, like x/net's maxQueuedControlFrames
// and Envoy's max_outbound_control_frames. Only a peer that keeps asking for
// answers while not reading them fills it: past it the connection ends with
// GOAWAY ENHANCE_YOUR_CALM.
const maxQueuedControl = 1000

type ctlKind uint8

const (
	ctlPingAck ctlKind = iota
	ctlSettingsAck
	ctlReset
	ctlWindowUpdate
)

// ctlFrame is one queued control frame (20 bytes: the queue holds at most
// maxQueuedControl of them).
type ctlFrame struct {
	kind  ctlKind
	table bool    // settings ack: apply val as the peer's HPACK table limit first
	id    uint32  // stream
	val   uint32  // reset code, window increment or table size
	data  [8]byte // ping payload
}

// controlQueue holds the control frames the read loop answers with, in
// order, and the streams we reset last. Its lock is a leaf by construction:
// only its own methods take it, and they call nothing that locks, so it can
// be taken under any other lock of the package.
type controlQueue struct {
	mu       sync.Mutex
	q, spare []ctlFrame
	n        atomic.Int32 // len(q), read without the lock
	overflow atomic.Bool  // a frame was dropped: the read loop ends the connection
	resets   [32]uint32   // the last streams we reset, see resetByUs
	next     int
}

// push appends f, or drops it and marks the overflow past maxQueuedControl.
// A reset is remembered either way.
func (cq *controlQueue) push(f ctlFrame) {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	if f.kind == ctlReset {
		cq.noteResetLocked(f.id)
	}
	if len(cq.q) >= maxQueuedControl {
		cq.overflow.Store(true)
		return
	}
	cq.q = append(cq.q, f)
	cq.n.Store(int32(len(cq.q)))
}

// take empties the queue and returns what it held; give it back with recycle.
func (cq *controlQueue) take() []ctlFrame {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	q := cq.q
	cq.q, cq.spare = cq.spare[:0], nil
	cq.n.Store(0)
	return q
}

// recycle keeps a small written queue's array for the next burst; a burst's
// larger one is not kept by an idle connection.
func (cq *controlQueue) recycle(q []ctlFrame) {
	if cap(q) > 16 {
		return
	}
	cq.mu.Lock()
	cq.spare = q[:0]
	cq.mu.Unlock()
}

func (cq *controlQueue) len() int { return int(cq.n.Load()) }

// noteReset remembers that we reset stream id: DATA or trailers the peer sent
// before our RST_STREAM reached it must be ignored (RFC 9113 §5.1).
func (cq *controlQueue) noteReset(id uint32) {
	cq.mu.Lock()
	cq.noteResetLocked(id)
	cq.mu.Unlock()
}

func (cq *controlQueue) noteResetLocked(id uint32) {
	cq.resets[cq.next] = id
	cq.next = (cq.next + 1) % len(cq.resets)
}

// resetByUs reports whether stream id is one of the last streams we reset.
// Only those few are remembered (a peer could make us remember every stream
// it ever opened): a frame for an older one gets a RST_STREAM it ignores.
func (cq *controlQueue) resetByUs(id uint32) bool {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	for _, r := range cq.resets {
		if r == id {
			return true
		}
	}
	return false
}

// queueControl queues f for the wire, in order with every frame queued before
// it, and makes sure a writer will send it. It never blocks and starts at most
// one goroutine per connection: the reader must keep reading a peer that does
// not read our answers, and that peer must not make us hold an answer per
// frame. Past maxQueuedControl the frame is dropped and the connection marked
// to end (the reader checks after every frame).
func (c *Conn) queueControl(f ctlFrame) {
	c.ctlq.push(f)
	if c.ctlDrainer.CompareAndSwap(false, true) {
		go c.drainControl()
	}
}

// drainControl writes queued control frames until the queue stays empty. Any
// writer drains the queue too (writeFrames); this goroutine is for frames
// queued while no one else writes.
func (c *Conn) drainControl() {
	for {
		if c.write(func(*http2.Framer) error { return nil }) != nil {
			c.ctlDrainer.Store(false)
			return // the connection failed: nothing queued will go out
		}
		c.ctlDrainer.Store(false)
		// A frame queued after our drain but before the flag dropped found the
		// flag set and left its frame to us.
		if c.ctlq.len() == 0 || !c.ctlDrainer.CompareAndSwap(false, true) {
			return
		}
	}
}

// writeControlLocked writes the queued control frames. Call under wmu.
func (c *Conn) writeControlLocked(fr *http2.Framer) error {
	q := c.ctlq.take()
	var err error
	for i := 0; i < len(q) && err == nil; i++ {
		err = c.writeControlFrame(fr, &q[i])
	}
	c.ctlq.recycle(q)
	return err
}

func (c *Conn) writeControlFrame(fr *http2.Framer, f *ctlFrame) error {
	switch f.kind {
	case ctlPingAck:
		return fr.WritePing(true, f.data)
	case ctlSettingsAck:
		if f.table {
			// The encoder follows the peer's limit from the SETTINGS we ack,
			// before any header block that follows the ack.
			c.henc.SetMaxDynamicTableSizeLimit(f.val)
		}
		return fr.WriteSettingsAck()
	case ctlReset:
		return fr.WriteRSTStream(f.id, http2.ErrCode(f.val))
	default:
		return fr.WriteWindowUpdate(f.id, f.val)
	}
}
