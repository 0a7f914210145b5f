package inbound

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"time"
)

// A client that sends its request head in pieces (slowloris: a header line a
// second, from a thousand connections) would hold a goroutine, its stack and a
// 16 KiB read buffer per connection, and wake that goroutine for every piece.
// Instead a connection whose head is still incomplete after parkAfter is parked
// mid-head: what arrived moves into a buffer of its own size (at most
// maxParkedHead), the read buffer goes back to its pool, and the parker reads
// what follows itself, from its one goroutine, as epoll reports it. Only a
// complete head (or one too long to hold there) gets a goroutine again, which
// parses it from the start; a head not complete by its ReadHeader deadline is
// closed unanswered, as the goroutine's own read would have ended it.
const maxParkedHead = 4 << 10

// headComplete reports whether b holds a whole request head: "\r\n\r\n" after a
// non-empty first line (the parser stops at the first empty line; leading empty
// lines are left to the deadline).
func headComplete(b []byte) bool {
	if len(b) == 0 || b[0] == '\r' || b[0] == '\n' {
		return false
	}
	return bytes.Contains(b, []byte("\r\n\r\n"))
}

// awaitHead waits up to parkAfter for the rest of the head br holds the start
// of, and parks the connection mid-head (true) when it has not come. Answers
// still in bw (to requests pipelined before) are flushed first. It reports
// false when the head is complete, the connection cannot be parked, or a read
// or the flush failed: the caller then parses under the head's deadline, which
// reports it.
func (i *idler) awaitHead(br *bufio.Reader, bw *bufio.Writer, until time.Time) (parked bool) {
	if i.p == nil || bw != nil && bw.Flush() != nil {
		return false
	}
	if t := time.Now().Add(parkAfter); t.Before(until) {
		i.cr.set(t)
	} else {
		i.cr.set(until)
	}
	for !headBuffered(br) {
		if br.Buffered() > maxParkedHead {
			return false
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(until) {
				return false
			}
			return i.parkHead(br, until)
		}
	}
	return false
}

// parkHead moves br's bytes (a head's start) to i.head and parks the connection;
// when the parker refuses it, the bytes are read again from cr.pending.
func (i *idler) parkHead(br *bufio.Reader, until time.Time) bool {
	n := br.Buffered()
	b, _ := br.Peek(n)
	i.head = append(make([]byte, 0, max(2*n, 512)), b...)
	br.Discard(n)
	i.headUntil, i.idleUntil = until, until // the parker's sweep closes it then
	if i.p.park(i) {
		return true
	}
	i.cr.pending, i.head = i.head, nil
	return false
}

// headDeadline is when the head being read must be complete: set when its first
// bytes arrived, kept across a mid-head park.
func (i *idler) headDeadline() time.Time {
	if !i.headUntil.IsZero() {
		return i.headUntil
	}
	return time.Now().Add(i.s.opts.Timeouts.ReadHeader)
}
