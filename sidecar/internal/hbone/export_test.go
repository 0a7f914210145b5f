package hbone

import (
	"context"
	"fmt"
	"net"
)

// ServeConn is Serve that lets the test see the connection while it runs.
func ServeConn(nc net.Conn, cfg Config, handle func(*Stream)) (*Conn, func(context.Context) error) {
	c := newConn(nc, cfg, false)
	c.handler = handle
	return c, c.serve
}

// CheckInvariants checks the connection's accounting at any moment: receive
// windows within their bounds and never negative, send windows never below
// what the peer's SETTINGS allow, unread bytes within what the windows let the
// peer send, the control queue within its bound.
func (c *Conn) CheckInvariants() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recvWindow < 0 || c.recvWindow > int32(c.cfg.ConnWindow) {
		return fmt.Errorf("connection receive window %d outside [0, %d]", c.recvWindow, c.cfg.ConnWindow)
	}
	// Send windows: the connection's moves only by WINDOW_UPDATE and what we
	// send, never below zero. A stream's may go negative only by a lowered
	// initial window (§6.9.2): we send only while it is positive.
	if c.sendWindow < 0 {
		return fmt.Errorf("connection send window %d", c.sendWindow)
	}
	unread := 0
	for id, st := range c.streams {
		if floor := c.peerInitialWindow - c.peerMaxInitial; st.sendWindow < floor {
			return fmt.Errorf("stream %d: send window %d below %d (initial %d, largest %d)", id, st.sendWindow, floor, c.peerInitialWindow, c.peerMaxInitial)
		}
		if st.recvWindow < 0 || int64(st.recvWindow)+int64(st.rb.len()) > int64(c.cfg.StreamWindow) {
			return fmt.Errorf("stream %d: receive window %d with %d unread, stream window %d", id, st.recvWindow, st.rb.len(), c.cfg.StreamWindow)
		}
		if st.rb.held() > st.rb.len()+2*chunkSize {
			return fmt.Errorf("stream %d holds %d bytes for %d unread", id, st.rb.held(), st.rb.len())
		}
		unread += st.rb.len()
	}
	if int64(unread)+int64(c.recvWindow) > int64(c.cfg.ConnWindow) {
		return fmt.Errorf("%d unread with connection window %d left of %d", unread, c.recvWindow, c.cfg.ConnWindow)
	}
	if n := c.ctlq.len(); n > maxQueuedControl {
		return fmt.Errorf("%d control frames queued", n)
	}
	return nil
}

// ParkedHandlers is how many finished handler goroutines wait for the next
// stream (gopool): they belong to no connection.
func ParkedHandlers() int { return handlers.Idle() }
