package hbone

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Client starts the client side of an HTTP/2 connection over nc (a TLS
// connection that negotiated "h2"). The caller opens streams with Reserve and
// Connect and ends the connection with Shutdown or Close.
func Client(nc net.Conn, cfg Config) (*Conn, error) {
	c := newConn(nc, cfg, true)
	if err := c.start(); err != nil {
		nc.Close()
		return nil, err
	}
	go c.readLoop()
	return c, nil
}

// Reserve promises the caller one stream for a later Connect. It returns false
// when the connection takes no new streams (closing, or the peer's
// MAX_CONCURRENT_STREAMS reached).
func (c *Conn) Reserve() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if uint64(c.nextID)+2*uint64(c.reserved+1) > 1<<31-1 {
		c.goaway = true // stream IDs used up: a new connection takes over
	}
	if c.goaway || uint32(len(c.streams)+c.reserved) >= c.peerMaxStreams {
		return false
	}
	c.reserved++
	return true
}

// Closing reports whether the connection takes no new streams.
func (c *Conn) Closing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.goaway
}

// Connect opens a CONNECT stream to authority ("ip:port") on a stream reserved
// with Reserve, and returns it once the peer answered 200. Another answer is a
// *StatusError; ErrRefused means the peer never processed the stream.
func (c *Conn) Connect(ctx context.Context, authority string) (*Stream, error) {
	return c.ConnectEarly(ctx, authority, nil)
}

// ConnectEarly is Connect that also sends early, the first bytes for the
// stream, without waiting for the answer: in the HEADERS' write (one flush, one
// TLS record) when the windows and the peer's frame size allow, else once the
// peer answered 200. A new connection then costs no round trip to the peer
// before its first bytes go. On any error early was not delivered to a stream
// that the peer processed: after ErrRefused it may be sent again elsewhere.
func (c *Conn) ConnectEarly(ctx context.Context, authority string, early []byte) (*Stream, error) {
	if authority == "" {
		return nil, errors.New("hbone: empty authority")
	}
	s := c.newStream()
	s.local = c.nc.LocalAddr()
	s.remote = authorityAddr(authority)
	refused, sentEarly := false, false
	err := c.write(func(fr *http2.Framer) error {
		c.mu.Lock()
		if c.reserved > 0 {
			c.reserved--
		}
		if c.goaway {
			refused = true
			c.mu.Unlock()
			return nil
		}
		s.id = c.nextID
		c.nextID += 2
		s.sendWindow = c.peerInitialWindow
		c.streams[s.id] = s
		c.open.Add(1)
		c.streamsOpened.Add(1)
		if n := len(early); n > 0 && n <= int(min(s.sendWindow, c.sendWindow)) && n <= int(c.peerMaxFrame) {
			s.sendWindow -= int32(n)
			c.sendWindow -= int32(n)
			sentEarly = true
		}
		c.mu.Unlock()
		block := c.encodeHeaders(
			hpack.HeaderField{Name: ":method", Value: "CONNECT"},
			hpack.HeaderField{Name: ":authority", Value: authority})
		if err := c.writeHeadersLocked(fr, s.id, block); err != nil || !sentEarly {
			return err
		}
		c.dataSent.Add(1)
		return fr.WriteData(s.id, false, early)
	})
	switch {
	case refused:
		return nil, ErrRefused
	case err != nil:
		return nil, err
	}
	select {
	case <-s.resp:
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("hbone: CONNECT %s: %w", authority, ctx.Err())
	}
	c.mu.Lock()
	status, rerr := s.status, s.rerr
	c.mu.Unlock()
	switch {
	case status == 0 && rerr == nil:
		return nil, fmt.Errorf("hbone: CONNECT %s: stream ended without an answer", authority)
	case status == 0:
		return nil, rerr
	case status != 200:
		s.Close()
		return nil, &StatusError{Status: status}
	}
	if len(early) > 0 && !sentEarly {
		if _, err := s.Write(early); err != nil {
			s.Close()
			return nil, fmt.Errorf("hbone: CONNECT %s: early data: %w", authority, err)
		}
	}
	return s, nil
}

// onResponseLocked takes the answer to a CONNECT: 1xx answers are interim; a
// malformed one resets the stream.
func (c *Conn) onResponseLocked(st *Stream, f *http2.MetaHeadersFrame) error {
	code, err := strconv.Atoi(f.PseudoValue("status"))
	if err != nil || code < 100 || code > 999 || f.Truncated {
		st.abortLocked(http2.ErrCodeProtocol, &StreamError{Code: http2.ErrCodeProtocol})
		return nil
	}
	if code < 200 {
		return nil // interim response
	}
	st.status = code
	close(st.resp)
	if f.StreamEnded() {
		st.remoteEnd = true
		st.maybeRemoveLocked()
	}
	return nil
}

// authorityAddr is a CONNECT authority as a net.Addr.
func authorityAddr(authority string) net.Addr {
	ap, err := netip.ParseAddrPort(authority)
	if err != nil {
		return &net.TCPAddr{}
	}
	return net.TCPAddrFromAddrPort(ap)
}
