package inbound

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"
)

// idler lets a kept-alive HTTP/1 connection wait for its next request without
// holding its 16 KiB read and write buffers: they go back to the Server's pools
// while the client is silent and are taken again once it sends. Ten thousand idle
// connections then cost their sockets and a few small structs, not 320 MiB of
// buffers. One idler serves one connection (its waits allocate nothing).
//
// It is also the connection's state between requests, so that a connection
// whose client stays silent for parkAfter can be parked (park_linux.go): its
// goroutine returns, freeing its stack, and a new one resumes the request loop
// (serve) when the client sends again. Only one goroutine holds an idler at a
// time: the serving one, or the parker while it is parked.
type idler struct {
	s *Server
	// ctx is the listener's: a resumed connection is served under it, as the
	// goroutine that parked it was.
	ctx context.Context
	cr  *clientReader  // what the read buffer reads from (cr.c: the connection)
	dw  deadlineWriter // what the write buffer writes to
	ci  *connInfo
	w   readWaiter

	// Parking; p is nil where the connection's goroutine waits itself (not a
	// TCP socket, or parking unsupported or off).
	p          *parker
	release    func()    // closes c and uncounts it (accept), once, after parking
	idleUntil  time.Time // when the current wait for a request times out
	resumed    bool      // the next wait continues the last one (same idleUntil)
	head       []byte    // a head's start, held while parked mid-head (parkhead.go)
	headUntil  time.Time // the ReadHeader deadline of a head that was parked; zero: none
	registered bool      // fd is in the parker's epoll set (it stays there, disarmed)
	fd         int32
}

// parkAfter is how long a kept-alive connection's goroutine waits for the next
// request before the connection is parked. A client that keeps its connection
// busy (the next request within parkAfter) never pays for parking (an epoll
// registration, a wake-up and a new goroutine: a few microseconds); one that
// waits longer pays them once per wait, small next to its own silence.
const parkAfter = 5 * time.Millisecond

func (s *Server) newIdler(ctx context.Context, c net.Conn, cr *clientReader, ci *connInfo) *idler {
	return &idler{s: s, ctx: ctx, cr: cr, ci: ci,
		dw: deadlineWriter{c: c, d: s.opts.Timeouts.Idle}, w: newReadWaiter(c)}
}

// parkable lets p park the connection (see idler); release then ends it.
func (i *idler) parkable(p *parker, release func()) {
	if p != nil && release != nil && canWaitRaw(i.cr.c) && i.s.opts.Timeouts.Idle > parkAfter {
		i.p, i.release = p, release
	}
}

// wait returns br and bw (both empty: the last answer was flushed, every request
// read; either may be nil) to their pools, waits for the client's next bytes,
// and returns fresh buffers, the read one holding at least one byte. It returns
// nil buffers when the connection is to end (the client closed it or was silent
// too long, or the process is near its memory limit: the client is then answered
// 503 first) or was parked (true).
func (i *idler) wait(br *bufio.Reader, bw *bufio.Writer) (*bufio.Reader, *bufio.Writer, bool) {
	if bw != nil && bw.Flush() != nil {
		return nil, nil, false // the deferred puts of the caller skip nil buffers
	}
	i.s.putReader(br)
	i.s.putWriter(bw)
	for {
		if err := i.readable(); err != nil {
			return nil, nil, err == errParked
		}
		if !i.s.admit() {
			i.refuse()
			return nil, nil, false
		}
		br = i.s.reader(i.cr)
		_, err := br.Peek(1)
		if err == nil {
			return br, i.s.writer(&i.dw), false
		}
		i.s.putReader(br)
		if i.p == nil || !errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(i.idleUntil) {
			return nil, nil, false
		}
		// A parkable wait's short deadline passed during this read: its wake-up
		// found nothing (the runtime's poller keeps the readiness of bytes that
		// arrived while the connection was parked, and reports it at the next
		// wait), or came right before the deadline. Wait again, within the same
		// idle timeout.
		i.resumed = true
	}
}

// errParked is readable's answer when the connection went to the parker.
var errParked = errors.New("parked")

// readable waits for the client's next bytes under the Idle timeout. A parkable
// connection waits at most parkAfter in its goroutine, then is parked (with
// the rest of the timeout); setting that shorter deadline is one timer update
// per request.
func (i *idler) readable() error {
	if len(i.cr.pending) > 0 {
		return nil // a head's start the parker read
	}
	idle := i.s.opts.Timeouts.Idle
	if i.p == nil {
		i.cr.renew(idle)
		return i.w.wait()
	}
	now := time.Now()
	if !i.resumed {
		i.idleUntil = now.Add(idle)
	}
	i.resumed = false
	if t := now.Add(parkAfter); t.Before(i.idleUntil) {
		i.cr.set(t)
	} else {
		i.cr.set(i.idleUntil)
	}
	err := i.w.wait()
	if !errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(i.idleUntil) {
		return err
	}
	if i.p.park(i) {
		return errParked
	}
	i.cr.set(i.idleUntil) // not parked (shut down, or epoll failed): wait here
	return i.w.wait()
}

// resume serves a parked connection whose client sent bytes (or closed) in a
// goroutine of its own, the parker's; it releases the connection once served
// unless it was parked again.
func (i *idler) resume() {
	parked := false
	defer func() {
		if r := recover(); r != nil {
			i.s.opts.Logger.Error("connection handler panicked", "panic", r, "stack", string(debug.Stack()))
		}
		if !parked {
			i.release()
		}
	}()
	i.resumed = true
	if i.head != nil { // parked mid-head: the head is complete, too long, or cut
		i.cr.pending, i.head, i.resumed = i.head, nil, false
	}
	parked = i.serve(nil)
}

// refuse answers 503 to a request that arrived near the memory limit. It is kept
// out of wait so that wait's frame, on the stack of every idle connection, stays
// small (see the stack figures of BenchmarkIdleKeepAlive).
//
//go:noinline
func (i *idler) refuse() {
	br, bw := i.s.reader(i.cr), i.s.writer(&i.dw)
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
