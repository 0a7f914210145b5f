package inbound

import (
	"net"
	"syscall"
)

// peerOpen peeks at c without blocking and without consuming: EAGAIN means open
// and quiet; EOF, an error or unexpected bytes mean the connection is not reusable.
// (A read with an expired deadline would not even reach the kernel.)
func peerOpen(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = rerr == syscall.EAGAIN
		return true // never wait for readiness
	})
	return err == nil && open
}
