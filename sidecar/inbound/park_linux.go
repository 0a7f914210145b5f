package inbound

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// parker holds kept-alive HTTP/1 connections whose clients are silent, so that
// no goroutine (and no stack, at least 4 KiB once a request was served) waits for
// each of them. One goroutine waits on an epoll instance of its own for all of
// them; when a client sends (or closes), its connection is handed to a new
// goroutine that resumes the request loop (idler.serve). Connections whose
// clients stopped in the middle of a request head are parked too (parkhead.go):
// for them the parker reads what arrives itself and resumes them only once the
// head is complete. Nothing else is buffered at the park point: every answer
// was flushed and every earlier request read, so no byte can be lost or
// reordered, and the parked connection's fd is in the set with EPOLLONESHOT, so
// it is handed to one goroutine once.
//
// Registering a socket in this set beside the runtime's poller is safe: Go reads
// a socket before it waits on its poller, and the parked connection has no
// reader until it is resumed. A connection closed while parked (shutdown) leaves
// the set with its fd, and is released by the parker from its map entry, so a
// reused fd number is never mistaken for it.
//
// A parked connection costs about 1.2 KB of live heap (BenchmarkIdleKeepAlive:
// its idler, connInfo and clientReader, 400 bytes; the accept loop's entry and
// this parker's, 130; the rest is the net.TCPConn with its addresses) plus the
// runtime's poll descriptor and the socket. The parker sweeps connections
// whose idle timeout passed every parkSweep and closes them; when ctx ends it
// closes every parked connection and returns.
//
// Lock order: mu is taken inside the runtime's hold on a socket fd
// (RawConn.Control, in park) and nothing is locked under it.
type parker struct {
	ep, ev int // the epoll instance; an eventfd in it that wakes run
	log    *slog.Logger
	stopAt func() bool // ends the context.AfterFunc
	done   chan struct{}

	mu     sync.Mutex
	conns  map[int32]*idler // parked, by fd
	closed bool
}

// parkSweep bounds how late a parked connection's idle timeout takes effect.
const parkSweep = time.Second

// newParker returns a running parker, or nil (with the error logged) when the
// kernel refuses an epoll instance: connections then wait in their goroutines.
func newParker(ctx context.Context, log *slog.Logger) *parker {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		log.Warn("idle connections will not be parked", "err", err)
		return nil
	}
	ev, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(ep)
		log.Warn("idle connections will not be parked", "err", err)
		return nil
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, ev, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(ev)}); err != nil {
		unix.Close(ep)
		unix.Close(ev)
		log.Warn("idle connections will not be parked", "err", err)
		return nil
	}
	p := &parker{ep: ep, ev: ev, log: log, done: make(chan struct{}), conns: map[int32]*idler{}}
	p.stopAt = context.AfterFunc(ctx, p.close)
	go p.run()
	return p
}

// stop closes every parked connection and waits for the parker to end.
func (p *parker) stop() {
	if p == nil {
		return
	}
	p.stopAt()
	p.close()
	<-p.done
}

// close marks the parker closed and wakes run, which then closes every parked
// connection and ends. Later parks are refused.
func (p *parker) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		unix.Write(p.ev, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
}

// park takes over i's connection, or reports false (the parker is closed, or
// the socket could not be registered): the caller then ends the connection.
// After true, i belongs to the parker: the caller must not touch it.
func (p *parker) park(i *idler) bool {
	ok := false
	err := i.w.rc.Control(func(fd uintptr) { ok = p.add(i, int32(fd)) })
	return err == nil && ok
}

// add arms fd for one wake-up and files i under it; mu is held across both, so
// run, which looks fd up under mu, cannot miss i.
func (p *parker) add(i *idler, fd int32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: fd}
	op := unix.EPOLL_CTL_ADD
	if i.registered {
		op = unix.EPOLL_CTL_MOD // disarmed by its last wake-up, still in the set
	}
	err := unix.EpollCtl(p.ep, op, int(fd), &ev)
	switch {
	case err == unix.EEXIST:
		err = unix.EpollCtl(p.ep, unix.EPOLL_CTL_MOD, int(fd), &ev)
	case err == unix.ENOENT:
		err = unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, int(fd), &ev)
	}
	if err != nil {
		p.log.Warn("parking a connection", "err", err)
		return false
	}
	i.registered, i.fd = true, fd
	p.conns[fd] = i
	return true
}

// run waits for parked connections to become readable, resumes them, sweeps
// expired ones, and at the end closes the rest.
func (p *parker) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	var ready, expired []*idler
	next := time.Now().Add(parkSweep)
	for {
		n, err := unix.EpollWait(p.ep, events, int(parkSweep/time.Millisecond))
		if err != nil && err != unix.EINTR {
			p.log.Error("parked connections: epoll", "err", err)
			p.close()
		}
		ready, expired = ready[:0], expired[:0]
		p.mu.Lock()
		for _, e := range events[:max(n, 0)] {
			if i, ok := p.conns[e.Fd]; ok { // the eventfd is not in conns
				delete(p.conns, e.Fd)
				ready = append(ready, i)
			}
		}
		closed := p.closed
		if now := time.Now(); closed || !now.Before(next) {
			for fd, i := range p.conns {
				if closed || !now.Before(i.idleUntil) {
					delete(p.conns, fd)
					expired = append(expired, i)
				}
			}
			next = now.Add(parkSweep)
		}
		p.mu.Unlock()
		for _, i := range ready {
			if i.head != nil && !closed {
				p.feed(i)
				continue
			}
			go i.resume() // after ctx ended it just releases the connection
		}
		for _, i := range expired {
			i.release()
		}
		if len(ready) > 0 {
			// Let the goroutines just resumed (and anything else runnable) go
			// before the next batch: fed mid-head connections come by the
			// thousand when a slowloris writes, and with one P a kept-alive
			// client's next request would otherwise wait behind all of them.
			runtime.Gosched()
		}
		if closed {
			unix.Close(p.ep)
			unix.Close(p.ev)
			return
		}
	}
}

// feed reads what a connection parked mid-head sent (parkhead.go) and parks it
// again until its head is complete; then, or when the head grew past
// maxParkedHead, a goroutine resumes it. A client that closed or failed
// mid-head has nothing to be answered: its connection is released.
func (p *parker) feed(i *idler) {
	n, err := i.readHead()
	switch {
	case err == unix.EAGAIN || err == unix.EINTR: // a wake-up with nothing to read
	case err != nil || n == 0:
		i.release()
		return
	case headComplete(i.head) || len(i.head) > maxParkedHead:
		go i.resume()
		return
	}
	if !p.park(i) {
		i.release()
	}
}

// readHead appends what the socket holds to i.head without waiting, growing it
// by doubling up to maxParkedHead and a bit (room to see that the head is longer).
func (i *idler) readHead() (int, error) {
	if len(i.head) == cap(i.head) {
		i.head = append(make([]byte, 0, min(2*cap(i.head), maxParkedHead+512)), i.head...)
	}
	var n int
	var rerr error
	err := i.w.rc.Control(func(fd uintptr) {
		n, rerr = unix.Read(int(fd), i.head[len(i.head):cap(i.head)])
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	i.head = i.head[:len(i.head)+n]
	return n, nil
}
