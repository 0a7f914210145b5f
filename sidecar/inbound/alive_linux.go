package inbound

import (
	"net"
	"syscall"
	"unsafe"
)

// peeker checks, without blocking and without consuming, whether an idle
// connection's peer is still there and quiet. It is made once per connection: a
// SyscallConn and a closure per check were two allocations per request.
type peeker struct {
	rc   syscall.RawConn // nil when c cannot be peeked at
	fn   func(fd uintptr) bool
	open bool
	buf  [1]byte
}

func newPeeker(c net.Conn) *peeker {
	p := &peeker{}
	if sc, ok := c.(syscall.Conn); ok {
		p.rc, _ = sc.SyscallConn()
	}
	p.fn = p.peek
	return p
}

// peerOpen peeks at the socket: EAGAIN means open and quiet; EOF, an error or
// unexpected bytes mean the connection is not reusable. (A read with an expired
// deadline would not even reach the kernel.)
func (p *peeker) peerOpen() bool {
	if p.rc == nil {
		return true
	}
	p.open = false
	return p.rc.Read(p.fn) == nil && p.open
}

func (p *peeker) peek(fd uintptr) bool {
	// Raw: a call that never blocks need not wake the runtime's monitor (rawio).
	_, _, err := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p.buf[0])), uintptr(len(p.buf)),
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	p.open = err == syscall.EAGAIN
	return true // never wait for readiness
}
