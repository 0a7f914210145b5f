package hbone

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Request is the HEADERS that opened a server-side stream.
type Request struct {
	Method, Authority, Scheme, Path, Protocol string
	Header                                    http.Header
}

// Stream is one CONNECT stream as a net.Conn. Close ends it in both directions
// (END_STREAM, and RST_STREAM(NO_ERROR) if the peer is still sending); CloseWrite
// is a half-close. Reads and writes may run concurrently with each other.
type Stream struct {
	c       *Conn
	id      uint32
	request Request
	local   net.Addr
	remote  net.Addr

	rlock    sync.Mutex // one Read at a time (it owns rtimer)
	rtimer   *time.Timer
	readable chan struct{} // cap 1: data, end or deadline change
	wlock    sync.Mutex    // Writes and the END_STREAM after them go out in order

	// Guarded by c.mu.
	rb            recvBuf // received, not yet read
	unacked       uint32  // read, not yet returned to the peer's stream window
	recvWindow    int32
	sendWindow    int32
	remoteEnd     bool  // END_STREAM received: Read returns io.EOF after buf
	localEnd      bool  // END_STREAM sent
	rerr          error // Read's error after buf, when the stream ended abnormally
	werr          error // Write's error once the stream can take no more
	removed       bool  // no longer in c.streams
	closed        bool  // Close was called
	responded     bool  // server: response HEADERS sent
	status        int   // client: the response's status
	resp          chan struct{}
	done          chan struct{} // closed when removed
	readDeadline  time.Time
	writeDeadline time.Time
}

func (c *Conn) newStream() *Stream {
	return &Stream{
		c: c, readable: make(chan struct{}, 1), resp: make(chan struct{}), done: make(chan struct{}),
		recvWindow: int32(c.cfg.StreamWindow),
	}
}

// Request is the CONNECT request of a server-side stream.
func (s *Stream) Request() *Request { return &s.request }

// Done is closed once the stream has ended both ways or was reset: nothing
// written to it from then on reaches the peer.
func (s *Stream) Done() <-chan struct{} { return s.done }

func (s *Stream) LocalAddr() net.Addr  { return s.local }
func (s *Stream) RemoteAddr() net.Addr { return s.remote }

func (s *Stream) Read(p []byte) (int, error) {
	s.rlock.Lock()
	defer s.rlock.Unlock()
	c := s.c
	c.mu.Lock()
	for s.rb.len() == 0 {
		if s.remoteEnd {
			c.mu.Unlock()
			return 0, io.EOF
		}
		if s.rerr != nil {
			err := s.rerr
			c.mu.Unlock()
			return 0, err
		}
		dl := s.readDeadline
		if !dl.IsZero() && !time.Now().Before(dl) {
			c.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		c.mu.Unlock()
		s.waitReadable(dl)
		c.mu.Lock()
	}
	n := s.rb.read(p)
	var inc uint32
	// The bytes have left our memory: hand their credit back (batched). A stream
	// that ended cleanly keeps its unread bytes, and their credit, until read.
	c.returnConnCreditLocked(uint32(n))
	if !s.removed {
		s.unacked += uint32(n)
		if !s.remoteEnd && s.unacked >= c.cfg.StreamWindow/2 {
			inc, s.unacked = s.unacked, 0
			s.recvWindow += int32(inc)
		}
	}
	c.mu.Unlock()
	if inc > 0 {
		c.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(s.id, inc) })
	}
	return n, nil
}

func (s *Stream) waitReadable(dl time.Time) {
	if dl.IsZero() {
		<-s.readable
		return
	}
	// One timer per stream, re-armed per wait; since Go 1.23 a stopped or reset
	// timer delivers no stale tick.
	if s.rtimer == nil {
		s.rtimer = time.NewTimer(time.Until(dl))
	} else {
		s.rtimer.Reset(time.Until(dl))
	}
	select {
	case <-s.readable:
	case <-s.rtimer.C:
	}
	s.rtimer.Stop()
}

func (s *Stream) wakeReader() {
	select {
	case s.readable <- struct{}{}:
	default:
	}
}

func (s *Stream) Write(p []byte) (int, error) {
	s.wlock.Lock()
	defer s.wlock.Unlock()
	written := 0
	for len(p) > 0 {
		n, frame, err := s.reserveSend(len(p))
		if err != nil {
			return written, err
		}
		chunk := p[:n]
		err = s.c.write(func(fr *http2.Framer) error {
			frames := uint64(0)
			defer func() { s.c.dataSent.Add(frames) }()
			for len(chunk) > 0 {
				k := min(len(chunk), frame)
				if err := fr.WriteData(s.id, false, chunk[:k]); err != nil {
					return err
				}
				chunk = chunk[k:]
				frames++
			}
			return nil
		})
		if err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// reserveSend waits until both windows allow some of want bytes, takes them, and
// returns how many and the peer's frame size.
func (s *Stream) reserveSend(want int) (int, int, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		switch {
		case s.werr != nil:
			return 0, 0, s.werr
		case s.localEnd:
			return 0, 0, errWriteAfterEnd
		case !c.client && !s.responded:
			return 0, 0, errNotAccepted
		}
		n := min(want, maxWriteBurst, int(s.sendWindow), int(c.sendWindow))
		if n > 0 {
			s.sendWindow -= int32(n)
			c.sendWindow -= int32(n)
			return n, int(c.peerMaxFrame), nil
		}
		dl := s.writeDeadline
		if !dl.IsZero() && !time.Now().Before(dl) {
			return 0, 0, os.ErrDeadlineExceeded
		}
		ch := c.windowCh
		c.windowWaiters = true
		c.mu.Unlock()
		var expired <-chan time.Time
		if !dl.IsZero() {
			if timer == nil {
				timer = time.NewTimer(time.Until(dl))
			} else {
				timer.Reset(time.Until(dl))
			}
			expired = timer.C
		}
		select {
		case <-ch:
		case <-expired:
		}
		c.mu.Lock()
	}
}

// CloseWrite sends END_STREAM: the peer reads EOF after what was written.
func (s *Stream) CloseWrite() error {
	s.wlock.Lock()
	defer s.wlock.Unlock()
	c := s.c
	c.mu.Lock()
	if s.localEnd || s.werr != nil {
		err := s.werr
		c.mu.Unlock()
		return err
	}
	if !c.client && !s.responded {
		c.mu.Unlock()
		return errNotAccepted
	}
	s.localEnd = true
	s.maybeRemoveLocked()
	c.mu.Unlock()
	return c.write(func(fr *http2.Framer) error { return fr.WriteData(s.id, true, nil) })
}

// Close ends the stream: END_STREAM if not sent yet, and RST_STREAM if the peer
// has not finished sending (NO_ERROR after a complete response, §8.1; CANCEL on a
// server stream that was never answered).
func (s *Stream) Close() error {
	c := s.c
	c.mu.Lock()
	if s.closed {
		c.mu.Unlock()
		return nil
	}
	s.closed = true
	live := !s.removed
	// A client stream whose CONNECT was never answered, or a server stream
	// never answered, is cancelled; an answered one ends like a TCP close.
	answered := s.responded || c.client && s.status != 0
	sendEnd := live && answered && !s.localEnd
	code := http2.ErrCodeNo
	if !answered {
		code = http2.ErrCodeCancel
	}
	// A server stream never answered is reset even when the peer has ended its
	// side: the peer waits for an answer otherwise.
	sendReset := live && (!s.remoteEnd || !answered)
	s.localEnd = true
	s.endLocked(errStreamClosed) // wakes a Write waiting for a window
	c.mu.Unlock()
	if !sendEnd && !sendReset {
		return nil
	}
	if sendReset {
		c.ctlq.noteReset(s.id)
	}
	s.wlock.Lock() // after the frames of a Write in progress
	defer s.wlock.Unlock()
	return c.write(func(fr *http2.Framer) error {
		if sendEnd {
			if err := fr.WriteData(s.id, true, nil); err != nil {
				return err
			}
		}
		if sendReset {
			return fr.WriteRSTStream(s.id, code)
		}
		return nil
	})
}

// endLocked takes the stream out of the connection: Read returns what is
// buffered and then err (EOF if the peer had ended); Write returns err.
func (s *Stream) endLocked(err error) {
	if err == nil {
		err = errStreamClosed
	}
	if s.rerr == nil && !s.remoteEnd {
		s.rerr = err
	}
	if s.werr == nil {
		s.werr = err
	}
	// Data of a stream cut short, or one we closed, is dropped with its credit;
	// a stream the peer ended keeps what it sent for the reader.
	s.removeLocked(!s.remoteEnd || s.closed)
	select {
	case <-s.resp:
	default:
		close(s.resp)
	}
	s.wakeReader()
	s.c.wakeWritersLocked()
}

// abortLocked resets the stream for a protocol error of the peer's.
func (s *Stream) abortLocked(code http2.ErrCode, err error) {
	s.endLocked(err)
	s.c.queueReset(s.id, code)
}

// maybeRemoveLocked removes a stream that has ended both ways.
func (s *Stream) maybeRemoveLocked() {
	if s.localEnd && s.remoteEnd {
		s.removeLocked(s.closed)
	}
}

// removeLocked takes the stream out of the connection. discard drops unread
// bytes and returns their connection credit; otherwise Read returns it as they
// are read, or Close for what is left.
func (s *Stream) removeLocked(discard bool) {
	c := s.c
	if !s.removed {
		s.removed = true
		close(s.done)
		delete(c.streams, s.id)
		c.open.Add(-1)
		c.lastActive = time.Now()
	}
	if discard && s.rb.len() > 0 {
		c.returnConnCreditLocked(uint32(s.rb.len()))
		s.rb.reset()
	}
}

func (s *Stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

func (s *Stream) SetReadDeadline(t time.Time) error {
	s.c.mu.Lock()
	s.readDeadline = t
	s.c.mu.Unlock()
	s.wakeReader()
	return nil
}

func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.c.mu.Lock()
	s.writeDeadline = t
	s.c.wakeWritersLocked()
	s.c.mu.Unlock()
	return nil
}

// Accept answers a server-side CONNECT with 200: the tunnel is open.
func (s *Stream) Accept() error {
	return s.respond(http.StatusOK, nil)
}

// Respond answers a server-side stream with status, header and body, and ends it.
func (s *Stream) Respond(status int, header http.Header, body []byte) error {
	if err := s.respond(status, header); err != nil {
		return err
	}
	if len(body) > 0 {
		if _, err := s.Write(body); err != nil {
			return err
		}
	}
	return s.Close()
}

func (s *Stream) respond(status int, header http.Header) error {
	c := s.c
	c.mu.Lock()
	switch {
	case c.client:
		c.mu.Unlock()
		return errors.New("hbone: a client stream has no response to send")
	case s.responded:
		c.mu.Unlock()
		return errors.New("hbone: response already sent")
	case s.werr != nil:
		err := s.werr
		c.mu.Unlock()
		return err
	}
	s.responded = true
	c.mu.Unlock()
	fields := []hpack.HeaderField{{Name: ":status", Value: strconv.Itoa(status)}}
	for k, vv := range header {
		lk := strings.ToLower(k)
		if connectionSpecific[lk] {
			continue // not allowed in HTTP/2 (§8.2.2)
		}
		for _, v := range vv {
			fields = append(fields, hpack.HeaderField{Name: lk, Value: v})
		}
	}
	return c.write(func(fr *http2.Framer) error {
		return c.writeHeadersLocked(fr, s.id, c.encodeHeaders(fields...))
	})
}

var connectionSpecific = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true,
}

// writeHeadersLocked writes a header block as HEADERS and, past the peer's frame
// size, CONTINUATION frames. Call under wmu.
func (c *Conn) writeHeadersLocked(fr *http2.Framer, id uint32, block []byte) error {
	c.mu.Lock()
	max := int(c.peerMaxFrame)
	c.mu.Unlock()
	first := block[:min(len(block), max)]
	rest := block[len(first):]
	err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndHeaders: len(rest) == 0})
	for err == nil && len(rest) > 0 {
		frag := rest[:min(len(rest), max)]
		rest = rest[len(frag):]
		err = fr.WriteContinuation(id, len(rest) == 0, frag)
	}
	return err
}
