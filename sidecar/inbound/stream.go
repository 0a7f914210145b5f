package inbound

import (
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// streamConn is one HBONE CONNECT stream as a net.Conn. Reads go through a pump
// goroutine so read deadlines can expire without breaking the stream (the HTTP/2
// server's own read deadline would reset it), which protocol sniffing relies on.
type streamConn struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	body   io.ReadCloser
	remote net.Addr
	local  net.Addr

	chunks  chan []byte
	pending []byte
	readErr error       // set before chunks is closed
	timer   *time.Timer // read deadline; used only by Read (one reader at a time)

	mu            sync.Mutex
	deadline      time.Time
	writeDeadline time.Time // last one passed to the HTTP/2 server
	closed        chan struct{}
	once          sync.Once
}

func newStreamConn(w http.ResponseWriter, r *http.Request, remote net.Addr) *streamConn {
	c := &streamConn{
		w: w, rc: http.NewResponseController(w), body: r.Body, remote: remote,
		local:  tunnelAddr(r.Host),
		chunks: make(chan []byte), closed: make(chan struct{}),
	}
	go c.pump()
	return c
}

// pump reads the body into two buffers in turn instead of a fresh 32 KiB one per
// read (that allocation was most of a proxied request's garbage). Reusing a buffer
// is safe: chunks is unbuffered and Read takes a chunk only once it has drained the
// previous one, so when the send of chunk k+1 completes, chunk k (the buffer about
// to be refilled) is no longer referenced.
func (c *streamConn) pump() {
	defer close(c.chunks)
	var bufs [2][]byte
	for i := 0; ; i ^= 1 {
		if bufs[i] == nil {
			bufs[i] = make([]byte, 32<<10)
		}
		buf := bufs[i]
		n, err := c.body.Read(buf)
		if n > 0 {
			select {
			case c.chunks <- buf[:n]:
			case <-c.closed:
				return
			}
		}
		if err != nil {
			c.readErr = err
			return
		}
	}
}

func (c *streamConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		// Fast path: data already waiting needs no timer.
		select {
		case b, ok := <-c.chunks:
			if !ok {
				return 0, c.readErr
			}
			c.pending = b
		default:
		}
	}
	if len(c.pending) == 0 {
		c.mu.Lock()
		d := c.deadline
		c.mu.Unlock()
		var expired <-chan time.Time
		if !d.IsZero() {
			// One timer per stream, re-armed per wait: a new one per Read was an
			// allocation per request. Since Go 1.23 a stopped or reset timer
			// delivers no stale tick, so reuse cannot fire early.
			if c.timer == nil {
				c.timer = time.NewTimer(time.Until(d))
			} else {
				c.timer.Reset(time.Until(d))
			}
			defer c.timer.Stop()
			expired = c.timer.C
		}
		select {
		case b, ok := <-c.chunks:
			if !ok {
				return 0, c.readErr
			}
			c.pending = b
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *streamConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	n, err := c.w.Write(p)
	if err == nil {
		err = c.flush()
	}
	return n, err
}

func (c *streamConn) flush() error { return c.rc.Flush() }

// Close ends reading; the stream itself ends when the handler returns.
func (c *streamConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.body.Close()
	})
	return nil
}

func (c *streamConn) LocalAddr() net.Addr  { return c.local }
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }

func (c *streamConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *streamConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline bounds writes (a peer that stops reading blocks them through
// flow control). Each change is a message to the HTTP/2 server's goroutine, so
// deadlines refreshed on every write are passed on at most once a second.
func (c *streamConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	skip := !t.IsZero() && !c.writeDeadline.IsZero() && t.Sub(c.writeDeadline) < time.Second && t.After(c.writeDeadline)
	if !skip {
		c.writeDeadline = t
	}
	c.mu.Unlock()
	if !skip {
		c.rc.SetWriteDeadline(t)
	}
	return nil
}

// tunnelAddr is the CONNECT authority as a net.Addr.
func tunnelAddr(authority string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", authority)
	if err != nil {
		return &net.TCPAddr{}
	}
	return a
}
