package inbound

import (
	"net"
	"syscall"
)

// readWaiter waits until a TCP socket is readable without reading from it: the
// goroutine parks in the runtime's poller and no buffer is held meanwhile. Other
// connections (tunnel streams, wrapped in heldConn) wait by reading a few bytes.
type readWaiter struct {
	rc    syscall.RawConn // nil: not a socket
	held  *heldConn
	fn    func(fd uintptr) bool // made once: a closure per wait would allocate
	first bool
	buf   [1]byte
}

func newReadWaiter(c net.Conn) readWaiter {
	var w readWaiter
	if h, ok := c.(*heldConn); ok {
		w.held = h
	} else if sc, ok := c.(syscall.Conn); ok {
		w.rc, _ = sc.SyscallConn()
	}
	return w
}

func canWaitRaw(c net.Conn) bool {
	_, ok := c.(*net.TCPConn)
	return ok
}

// wait returns once the client has sent bytes, closed, or failed, or the read
// deadline passed (an error). A wake-up that finds nothing (rare: the poller may
// report readiness left from an earlier read) makes the buffered read wait as
// before, holding its buffer for that once.
func (w *readWaiter) wait() error {
	switch {
	case w.held != nil:
		return w.held.fill()
	case w.rc == nil:
		return nil
	}
	if w.fn == nil {
		w.fn = w.ready
	}
	w.first = true
	return w.rc.Read(w.fn)
}

// ready peeks once, without waiting; after the poller woke the goroutine it
// trusts the wake-up, so an idle wait costs the same two system calls a blocking
// read did (one that finds nothing, one that reads).
func (w *readWaiter) ready(fd uintptr) bool {
	if !w.first {
		return true
	}
	w.first = false
	_, _, err := syscall.Recvfrom(int(fd), w.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN
}
