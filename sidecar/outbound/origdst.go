package outbound

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// soOriginalDst is SO_ORIGINAL_DST (and IP6T_SO_ORIGINAL_DST), from
// linux/netfilter_ipv4.h; the eBPF getsockopt program answers the same call.
const soOriginalDst = 80

// OriginalDst returns where a redirected connection was originally headed.
func OriginalDst(c *net.TCPConn) (netip.AddrPort, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("original dst: %w", err)
	}
	v6 := false
	if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(la.IP)
		v6 = !ip.Unmap().Is4()
	}
	var dst netip.AddrPort
	var serr error
	if err := raw.Control(func(fd uintptr) { dst, serr = origDst(int(fd), v6) }); err != nil {
		return netip.AddrPort{}, fmt.Errorf("original dst: %w", err)
	}
	if serr != nil {
		return netip.AddrPort{}, fmt.Errorf("original dst: %w", serr)
	}
	return dst, nil
}

// origDst issues the getsockopt directly: x/sys has no wrapper returning a
// sockaddr, and the answer is a sockaddr_in (16 bytes) or sockaddr_in6 (28).
func origDst(fd int, v6 bool) (netip.AddrPort, error) {
	var buf [28]byte
	level, size := unix.SOL_IP, uint32(16)
	if v6 {
		level, size = unix.SOL_IPV6, 28
	}
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), soOriginalDst,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return netip.AddrPort{}, fmt.Errorf("getsockopt SO_ORIGINAL_DST: %w", syscall.Errno(errno))
	}
	port := binary.BigEndian.Uint16(buf[2:4])
	switch binary.NativeEndian.Uint16(buf[0:2]) {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(buf[4:8])), port), nil
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(buf[8:24])).Unmap(), port), nil
	}
	return netip.AddrPort{}, fmt.Errorf("getsockopt SO_ORIGINAL_DST: unexpected family")
}
