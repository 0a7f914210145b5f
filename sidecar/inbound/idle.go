package inbound

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// idler lets a kept-alive HTTP/1 connection wait for its next request without
// holding its 16 KiB read and write buffers: they go back to the Server's pools
// while the client is silent and are taken again once it sends. Ten thousand idle
// connections then cost their goroutines, sockets and a few small structs, not
// 320 MiB of buffers. One idler serves one connection (its waits allocate nothing).
type idler struct {
	s   *Server
	c   net.Conn
	src io.Reader // what the read buffer reads from
	dst io.Writer // what the write buffer writes to
	w   readWaiter
}

func (s *Server) newIdler(c net.Conn, src io.Reader, dst io.Writer) *idler {
	return &idler{s: s, c: c, src: src, dst: dst, w: newReadWaiter(c)}
}

// wait returns br and bw (both empty: the last answer was flushed, every request
// read) to their pools, waits for the client's next bytes under the read deadline
// already set, and returns fresh buffers. It returns nil buffers when the
// connection is to end: the client closed it or was silent too long, or the
// process is near its memory limit (then the client is answered 503 first).
func (i *idler) wait(br *bufio.Reader, bw *bufio.Writer) (*bufio.Reader, *bufio.Writer) {
	if bw.Flush() != nil {
		return nil, nil // the deferred puts of the caller skip nil buffers
	}
	i.s.putReader(br)
	i.s.putWriter(bw)
	if err := i.w.wait(); err != nil {
		return nil, nil
	}
	if !i.s.admit() {
		i.refuse()
		return nil, nil
	}
	return i.s.reader(i.src), i.s.writer(i.dst)
}

// refuse answers 503 to a request that arrived near the memory limit. It is kept
// out of wait so that wait's frame, on the stack of every idle connection, stays
// small (see the stack figures of BenchmarkIdleKeepAlive).
//
//go:noinline
func (i *idler) refuse() {
	br, bw := i.s.reader(i.src), i.s.writer(i.dst)
	defer i.s.putReader(br)
	defer i.s.putWriter(bw)
	i.s.m.refuse("http1", http.StatusServiceUnavailable)
	// Read what arrived (without waiting for more), so closing with it unread
	// does not reset the connection before the client reads the 503.
	if _, err := br.Peek(1); err == nil {
		br.Discard(br.Buffered())
	}
	errorDenial(http.StatusServiceUnavailable).write(bw, true)
}

// heldConn is a connection that cannot be waited on without reading (a tunnel
// stream): the wait reads a few bytes into held, and reads return them first.
// heldBytes is small next to the 16 KiB buffer it spares an idle connection, and
// large enough for a usual request head to arrive in one piece.
type heldConn struct {
	net.Conn
	held [heldBytes]byte
	r, n int // held[r:n] not yet read
}

const heldBytes = 512

func (h *heldConn) Read(p []byte) (int, error) {
	if h.r < h.n {
		n := copy(p, h.held[h.r:h.n])
		h.r += n
		return n, nil
	}
	return h.Conn.Read(p)
}

// fill waits for the client's next bytes by reading them into held.
func (h *heldConn) fill() error {
	if h.r < h.n {
		return nil
	}
	n, err := h.Conn.Read(h.held[:])
	h.r, h.n = 0, n
	if n > 0 {
		return nil // bytes first; a following read reports the error again
	}
	return err
}

// CloseWrite half-closes the stream beneath, as splice expects of a connection.
func (h *heldConn) CloseWrite() error {
	if cw, ok := h.Conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return h.Conn.Close()
}

// holdable wraps c in a heldConn unless its socket can be waited on directly.
func holdable(c net.Conn) net.Conn {
	if canWaitRaw(c) {
		return c
	}
	return &heldConn{Conn: c}
}
