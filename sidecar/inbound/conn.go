package inbound

import (
	"bufio"
	"io"
	"net"
	"time"
)

// deadlineReader refreshes c's read deadline before a Read, so silence longer than
// d ends the connection however long it lives overall. The deadline is moved only
// when less than 15/16 of d is left (see renew): the cut-off then comes after 15/16
// d to d of silence.
type deadlineReader struct {
	r     io.Reader
	c     net.Conn
	d     time.Duration
	until time.Time // the read deadline last set on c; nothing else sets it
}

func (dr *deadlineReader) Read(p []byte) (int, error) {
	if t, ok := renew(dr.until, dr.d); ok {
		dr.until = t
		dr.c.SetReadDeadline(t)
	}
	return dr.r.Read(p)
}

// deadlineWriter refreshes c's write deadline before a Write, so a peer that stops
// reading cannot block the proxy for longer than d (15/16 d at least, as above).
type deadlineWriter struct {
	c     net.Conn
	d     time.Duration
	until time.Time // the write deadline last set on c; nothing else sets it
}

func (dw *deadlineWriter) Write(p []byte) (int, error) {
	if t, ok := renew(dw.until, dw.d); ok {
		dw.until = t
		dw.c.SetWriteDeadline(t)
	}
	return dw.c.Write(p)
}

// renew returns now+d, and true, when a deadline set at until must move: when it is
// unset or has less than 15/16 of d left. Moving a socket deadline is a timer update
// (~0.4 us on the benchmark machine, more than the rest of a small read); refreshed
// on every read and write it was several per request, now it is one every d/16.
func renew(until time.Time, d time.Duration) (time.Time, bool) {
	now := time.Now()
	if !until.IsZero() && until.Sub(now) >= d-d/16 {
		return until, false
	}
	return now.Add(d), true
}

// bufferedConn reads through the bufio.Reader that sniffing filled, so no byte the
// client sent is lost when the connection changes hands. Once that reader is
// drained it goes back to its pool (put) and reads go to the connection: a
// long-lived HTTP/2 connection does not keep 16 KiB it no longer needs. Only one
// goroutine reads a connection, so no lock is needed.
type bufferedConn struct {
	net.Conn
	r   *bufio.Reader
	put func(*bufio.Reader)
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.r != nil && c.r.Buffered() == 0 && c.put != nil {
		c.put(c.r)
		c.r = nil
	}
	if c.r == nil {
		return c.Conn.Read(p)
	}
	return c.r.Read(p)
}

// closeWriter is implemented by *net.TCPConn and by tunnel streams.
type closeWriter interface{ CloseWrite() error }

// splice copies both ways until the server side ends or both sides are done, then
// closes both. When the client stops sending, the server is told with a half-close.
func splice(client net.Conn, clientR io.Reader, server net.Conn, idle time.Duration) {
	done := make(chan struct{}, 1)
	go func() {
		io.Copy(server, &deadlineReader{r: clientR, c: client, d: idle})
		if cw, ok := server.(closeWriter); ok {
			cw.CloseWrite()
		} else {
			server.Close()
		}
		done <- struct{}{}
	}()
	io.Copy(&deadlineWriter{c: client, d: idle}, &deadlineReader{r: server, c: server, d: idle})
	// The server finished: nothing more can reach the client; stop the other copy.
	client.Close()
	server.Close()
	<-done
}
