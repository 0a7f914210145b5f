package hbone

import (
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/net/http2"
)

// readLoop reads frames until the connection fails, then closes it.
func (c *Conn) readLoop() {
	err := c.readFrames()
	if errors.Is(err, http2.ErrFrameTooLarge) {
		err = http2.ConnectionError(http2.ErrCodeFrameSize)
	}
	var v *violation
	if errors.As(err, &v) {
		if c.cfg.OnViolation != nil {
			c.cfg.OnViolation(v.reason)
		}
		err = fmt.Errorf("%w: %w", err, http2.ConnectionError(http2.ErrCodeEnhanceYourCalm))
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		c.mu.Lock()
		last := c.lastPeerID
		c.mu.Unlock()
		// The GOAWAY waits behind a writer stuck on a peer that does not
		// read for a second at most: the connection ends either way.
		c.ending.Store(true)
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
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
				opened := !c.client && se.StreamID%2 == 1 && se.StreamID > c.lastPeerID
				if opened {
					c.lastPeerID = se.StreamID // a refused new stream was still opened (§5.1.1)
					c.streamsOpened.Add(1)
				}
				c.mu.Unlock()
				c.resetStream(se.StreamID, se.Code)
				if opened {
					if err := c.badStream(); err != nil {
						return err
					}
				}
				continue
			}
			return err
		}
		c.framesRead.Add(1)
		if first {
			if err := c.firstFrame(f); err != nil {
				return err
			}
			first = false
		}
		if err := c.spend(f); err != nil {
			return err
		}
		if err := c.dispatch(f); err != nil {
			return err
		}
		if c.ctlq.overflow.Load() {
			return &violation{reason: "control_queue", detail: "control frames queued past the limit (the peer does not read our answers)"}
		}
	}
}

// firstFrame checks the peer's first frame, which must be SETTINGS (RFC 9113 §3.4).
func (c *Conn) firstFrame(f http2.Frame) error {
	if g, ok := f.(*http2.GoAwayFrame); ok {
		return fmt.Errorf("hbone: peer refused the connection: GOAWAY %v %q", g.ErrCode, g.DebugData())
	}
	if _, ok := f.(*http2.SettingsFrame); !ok {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if !c.client {
		c.nc.SetReadDeadline(time.Time{})
	}
	return nil
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
			c.queueControl(ctlFrame{kind: ctlPingAck, data: f.Data})
		}
	case *http2.RSTStreamFrame:
		return c.onReset(f)
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // push is disabled
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			c.resetStream(f.StreamID, http2.ErrCodeProtocol) // a stream cannot depend on itself (§5.3.1)
		}
	}
	return nil // PRIORITY and unknown frames are ignored
}

func (c *Conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	ack := ctlFrame{kind: ctlSettingsAck}
	window, setWindow := uint32(0), false
	c.mu.Lock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			c.peerMaxStreams = s.Val
		case http2.SettingInitialWindowSize:
			window, setWindow = s.Val, true
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		case http2.SettingHeaderTableSize:
			ack.val, ack.table = s.Val, true
		}
		return nil
	})
	if err == nil && setWindow {
		// Only the frame's last value counts, so a frame repeating the
		// setting walks the streams once.
		err = c.setPeerInitialWindowLocked(window)
	}
	c.wakeWritersLocked()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.queueControl(ack)
	return nil
}

// setPeerInitialWindowLocked moves every stream's send window by the change of
// the peer's initial window; a window may go negative, not overflow (§6.9.2).
func (c *Conn) setPeerInitialWindowLocked(v uint32) error {
	delta := int32(v) - c.peerInitialWindow
	c.peerInitialWindow = int32(v)
	c.peerMaxInitial = max(c.peerMaxInitial, int32(v))
	for _, st := range c.streams {
		if int64(st.sendWindow)+int64(delta) > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		st.sendWindow += delta
	}
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
		if !c.openedLocked(f.StreamID) {
			return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream (§5.1)
		}
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
		opened := c.openedLocked(f.StreamID)
		c.mu.Unlock()
		return c.onDataEnded(f.StreamID, st != nil, opened)
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
	st.rb.write(data) // at most the stream's window: checked above
	if f.StreamEnded() {
		st.remoteEnd = true
		st.maybeRemoveLocked()
	}
	c.mu.Unlock()
	st.wakeReader()
	return nil
}

// onDataEnded answers DATA for a stream that has ended (live: still in the
// map, ended from the peer's side or reset): STREAM_CLOSED (§5.1), unless we
// reset the stream and the DATA was in flight, which is ignored.
func (c *Conn) onDataEnded(id uint32, live, opened bool) error {
	switch {
	case !live && !opened:
		return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream (§5.1)
	case c.ctlq.resetByUs(id):
		return nil // in flight when we reset it, or reset once already
	}
	if err := c.ignoredFrame(); err != nil {
		return err // each one would cost a reset
	}
	c.queueReset(id, http2.ErrCodeStreamClosed)
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

func (c *Conn) onReset(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	st := c.streams[f.StreamID]
	if st == nil {
		opened := c.openedLocked(f.StreamID)
		c.mu.Unlock()
		if !opened {
			return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream (§6.4)
		}
		return nil
	}
	premature := !c.client && !st.responded
	err := error(&StreamError{Code: f.ErrCode})
	if f.ErrCode == http2.ErrCodeRefusedStream {
		err = ErrRefused
	}
	if f.ErrCode == http2.ErrCodeNo && st.remoteEnd {
		err = nil // "stop sending": the peer has all it wants (§8.1)
	}
	st.endLocked(err)
	c.mu.Unlock()
	if premature {
		return c.badStream()
	}
	return nil
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
	c.queueReset(id, code)
}

func (c *Conn) queueReset(id uint32, code http2.ErrCode) {
	c.queueControl(ctlFrame{kind: ctlReset, id: id, val: uint32(code)})
}

// returnConnCreditLocked counts n received bytes as consumed on the connection
// and returns the window to the peer once half of it is used up.
func (c *Conn) returnConnCreditLocked(n uint32) {
	c.unacked += n
	if c.unacked >= c.cfg.ConnWindow/2 {
		inc := c.unacked
		c.unacked = 0
		c.recvWindow += int32(inc)
		c.queueControl(ctlFrame{kind: ctlWindowUpdate, val: inc})
	}
}
