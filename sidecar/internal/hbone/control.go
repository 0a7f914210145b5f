package hbone

import (
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

// queueControl queues f for the wire, in order with every frame queued before
// it, and makes sure a writer will send it. It never blocks and starts at most
// one goroutine per connection: the reader must keep reading a peer that does
// not read our answers, and that peer must not make us hold an answer per
// frame. Past maxQueuedControl the frame is dropped and the connection marked
// to end (the reader checks after every frame).
func (c *Conn) queueControl(f ctlFrame) {
	c.ctlMu.Lock()
	if f.kind == ctlReset {
		c.noteResetLocked(f.id)
	}
	if len(c.ctl) >= maxQueuedControl {
		c.ctlMu.Unlock()
		c.ctlOverflow.Store(true)
		return
	}
	c.ctl = append(c.ctl, f)
	c.ctlLen.Store(int32(len(c.ctl)))
	c.ctlMu.Unlock()
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
		if c.ctlLen.Load() == 0 || !c.ctlDrainer.CompareAndSwap(false, true) {
			return
		}
	}
}

// writeControlLocked writes the queued control frames. Call under wmu.
func (c *Conn) writeControlLocked(fr *http2.Framer) error {
	c.ctlMu.Lock()
	q := c.ctl
	c.ctl, c.ctlSpare = c.ctlSpare[:0], nil
	c.ctlLen.Store(0)
	c.ctlMu.Unlock()
	var err error
	for i := 0; i < len(q) && err == nil; i++ {
		err = c.writeControlFrame(fr, &q[i])
	}
	if cap(q) <= 16 { // a burst's larger queue is not kept by an idle connection
		c.ctlMu.Lock()
		c.ctlSpare = q[:0]
		c.ctlMu.Unlock()
	}
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

// noteReset remembers that we reset stream id: DATA the peer had sent before
// our RST_STREAM reached it must be ignored (RFC 9113 §5.1).
func (c *Conn) noteReset(id uint32) {
	c.ctlMu.Lock()
	c.noteResetLocked(id)
	c.ctlMu.Unlock()
}

func (c *Conn) noteResetLocked(id uint32) {
	c.resetIDs[c.resetNext] = id
	c.resetNext = (c.resetNext + 1) % len(c.resetIDs)
}

// resetByUs reports whether stream id is one of the last streams we reset.
// Only those few are remembered (a peer could make us remember every stream
// it ever opened): DATA for an older one gets a RST_STREAM it ignores.
func (c *Conn) resetByUs(id uint32) bool {
	c.ctlMu.Lock()
	defer c.ctlMu.Unlock()
	for _, r := range c.resetIDs {
		if r == id {
			return true
		}
	}
	return false
}
