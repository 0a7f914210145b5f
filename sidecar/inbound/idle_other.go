//go:build !linux

package inbound

import "net"

// readWaiter waits by reading a few bytes (heldConn) where sockets cannot be
// peeked at portably.
type readWaiter struct{ held *heldConn }

func newReadWaiter(c net.Conn) readWaiter {
	h, _ := c.(*heldConn)
	return readWaiter{held: h}
}

func canWaitRaw(net.Conn) bool { return false }

func (w *readWaiter) wait() error {
	if w.held == nil {
		return nil
	}
	return w.held.fill()
}
