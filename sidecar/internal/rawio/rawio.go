package rawio

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// Conn is a *net.TCPConn whose Read and Write are raw system calls. Like a
// net.Conn, one Read and one Write may run at the same time.
type Conn struct {
	*net.TCPConn
	rc syscall.RawConn

	// Read and Write hand their buffers to rfn and wfn (bound once, so a call
	// allocates nothing) through these fields, under rmu and wmu.
	rmu, wmu   sync.Mutex
	rbuf, wbuf []byte
	rn, wn     int
	rerr, werr error
	rfn, wfn   func(uintptr) bool
}

// Wrap returns c with raw reads and writes when it is a TCP connection on a
// system where that is supported, and c itself otherwise.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok || !supported {
		return c
	}
	return New(tc)
}

// New wraps c; where raw calls are not supported Read and Write are c's own.
func New(c *net.TCPConn) *Conn {
	rc, err := c.SyscallConn()
	r := &Conn{TCPConn: c, rc: rc}
	if err != nil || !supported {
		r.rc = nil
	}
	r.rfn, r.wfn = r.readFD, r.writeFD
	return r
}

func (c *Conn) Read(p []byte) (int, error) {
	if c.rc == nil {
		return c.TCPConn.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.rn, c.rerr = p, 0, nil
	err := c.rc.Read(c.rfn)
	n, rerr := c.rn, c.rerr
	c.rbuf = nil
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case rerr != nil:
		return n, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *Conn) readFD(fd uintptr) bool {
	for {
		n, errno := read(fd, c.rbuf)
		switch errno {
		case 0:
			c.rn = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait in the poller
		}
		c.rerr = c.opError("read", os.NewSyscallError("read", errno))
		return true
	}
}

func (c *Conn) Write(p []byte) (int, error) {
	if c.rc == nil {
		return c.TCPConn.Write(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf, c.wn, c.werr = p, 0, nil
	err := c.rc.Write(c.wfn)
	n, werr := c.wn, c.werr
	c.wbuf = nil
	switch {
	case werr != nil:
		return n, werr
	case err != nil:
		return n, c.opError("write", err)
	}
	return n, nil
}

// writeFD writes all of wbuf, or until an error; false waits for the socket to
// take more.
func (c *Conn) writeFD(fd uintptr) bool {
	for len(c.wbuf) > 0 {
		n, errno := write(fd, c.wbuf)
		switch errno {
		case 0:
			c.wn += n
			c.wbuf = c.wbuf[n:]
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.werr = c.opError("write", os.NewSyscallError("write", errno))
		return true
	}
	return true
}

// CloseWrite shuts down the writing side (the peer reads EOF), raw.
func (c *Conn) CloseWrite() error { return c.shutdown(syscall.SHUT_WR) }

// CloseRead shuts down the reading side, raw.
func (c *Conn) CloseRead() error { return c.shutdown(syscall.SHUT_RD) }

func (c *Conn) shutdown(how int) error {
	if c.rc == nil {
		if how == syscall.SHUT_WR {
			return c.TCPConn.CloseWrite()
		}
		return c.TCPConn.CloseRead()
	}
	var errno syscall.Errno
	if err := c.rc.Control(func(fd uintptr) { errno = shutdown(fd, how) }); err != nil {
		return c.opError("close", err)
	}
	if errno != 0 {
		return c.opError("close", os.NewSyscallError("shutdown", errno))
	}
	return nil
}

// ReadReady reads what has already arrived, without waiting: one non-blocking
// read into p. Nothing ready, end of stream and errors all give 0 (a later Read
// reports them).
func (c *Conn) ReadReady(p []byte) int {
	if c.rc == nil || len(p) == 0 {
		return 0
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n := 0
	_ = c.rc.Read(func(fd uintptr) bool {
		for {
			k, errno := read(fd, p)
			if errno == syscall.EINTR {
				continue
			}
			if errno == 0 {
				n = k
			}
			return true // done either way: never wait
		}
	})
	return n
}

// opError is err as net.Conn methods report it. RawConn's own errors (closed,
// deadline) arrive as *net.OpError already: they keep that, with op renamed.
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		e := *oe
		e.Op = op
		return &e
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
