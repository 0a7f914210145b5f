package inbound

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"
)

// HTTP/2 frames that cost the server work without carrying a request, counted per
// connection per h2BudgetWindow. x/net's server bounds only control frames queued
// for writing (10 000) and handlers started by reset streams; a client that reads
// its answers can send SETTINGS, PING or PRIORITY frames, or empty ones, without
// end. Past a budget the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed,
// as Go's net/http2, Envoy and nginx close flooding connections. The budgets are
// far above what browsers, gRPC (BDP and keepalive pings) or proxies send.
const (
	h2BudgetWindow = time.Second

	frameHeaders   = 0x1
	frameRSTStream = 0x3
	// rapidResetFloor resets are forgiven before the share of reset streams counts
	// (the hbone mux and Envoy use the same floor).
	rapidResetFloor = 100
	frameGoAway     = 0x7
)

// floodKind is what a counted frame is charged to.
type floodKind int

const (
	floodSettings floodKind = iota // SETTINGS without ACK
	floodPing                      // PING without ACK
	floodPriority                  // PRIORITY, PRIORITY_UPDATE
	floodReset                     // RST_STREAM
	floodEmpty                     // empty DATA/HEADERS/CONTINUATION that end nothing; unknown types
	floodKinds
)

// floodBudget is how many frames of each kind one connection may send per window.
func floodBudget(k floodKind) int {
	switch k {
	case floodSettings, floodEmpty:
		return 100
	case floodPriority:
		// PRIORITY is deprecated (RFC 9113) and x/net ignores it, yet each frame
		// costs the server's two goroutines a hand-off: at 1000 per connection, a
		// flood over connection after connection held other clients' p99 at 36 ms
		// (test/bench/dos, against nginx's 10). Browsers that still send it send a
		// few per connection; nginx allows 4 per stream it may open.
		return 100
	default: // PING, RST_STREAM
		return 1000
	}
}

func (k floodKind) String() string {
	return [...]string{"settings", "ping", "priority", "rst_stream", "empty"}[k]
}

// frameHeader is the fixed 9-byte head of an HTTP/2 frame.
type frameHeader struct {
	length uint32
	typ    byte
	flags  byte
	stream uint32
}

// chargeFor says what a frame the client sent is charged to; ok is false for
// frames that are requests, answers to flow control, or the end of something.
func chargeFor(h frameHeader) (k floodKind, ok bool) {
	const (
		flagAck        = 0x1
		flagEndStream  = 0x1
		flagEndHeaders = 0x4
	)
	switch h.typ {
	case 0x0: // DATA
		return floodEmpty, h.length == 0 && h.flags&flagEndStream == 0
	case 0x1: // HEADERS
		return floodEmpty, h.length == 0 && h.flags&(flagEndStream|flagEndHeaders) == 0
	case 0x9: // CONTINUATION
		return floodEmpty, h.length == 0 && h.flags&flagEndHeaders == 0
	case 0x2, 0x10: // PRIORITY, PRIORITY_UPDATE
		return floodPriority, true
	case 0x3:
		return floodReset, true
	case 0x4:
		return floodSettings, h.flags&flagAck == 0
	case 0x6:
		return floodPing, h.flags&flagAck == 0
	case 0x5, 0x7, 0x8: // PUSH_PROMISE (an error anyway), GOAWAY, WINDOW_UPDATE
		return 0, false
	}
	return floodEmpty, true // an extension frame type the server ignores
}

// frameScanner follows frame boundaries in a byte stream: it collects each
// 9-byte head and skips the payload.
type frameScanner struct {
	skip int // bytes of payload (or client preface) still to pass
	head [9]byte
	n    int // bytes of head collected
}

// next returns the next complete frame head in b and the bytes after it; ok is
// false when b ends first (the scanner keeps what it has for the next call).
func (f *frameScanner) next(b []byte) (h frameHeader, rest []byte, ok bool) {
	for len(b) > 0 {
		if f.skip > 0 {
			n := min(f.skip, len(b))
			f.skip -= n
			b = b[n:]
			continue
		}
		n := copy(f.head[f.n:], b)
		f.n += n
		b = b[n:]
		if f.n == len(f.head) {
			f.n = 0
			h = frameHeader{
				length: uint32(f.head[0])<<16 | uint32(f.head[1])<<8 | uint32(f.head[2]),
				typ:    f.head[3], flags: f.head[4],
				stream: binary.BigEndian.Uint32(f.head[5:]) & (1<<31 - 1),
			}
			f.skip = int(h.length)
			return h, b, true
		}
	}
	return h, nil, false
}

// atBoundary reports whether the bytes scanned so far end with a whole frame.
func (f *frameScanner) atBoundary() bool { return f.skip == 0 && f.n == 0 }

// errFlood ends the server's reads of a connection that spent a budget.
var errFlood = errors.New("http2 flood: budget spent")

// budgetConn is an h2c connection with frame budgets. Reads (the server's one
// frame-reading goroutine) count the client's frames; writes (serialized by the
// server) are followed so that GOAWAY can be put between two frames.
type budgetConn struct {
	net.Conn
	s      *Server
	in     frameScanner
	spent  [floodKinds]int
	until  time.Time // end of the current window
	stream uint32    // the highest stream the client opened
	// opened and resets count, over the connection's life, the streams the client
	// opened and the RST_STREAM frames it sent: a client resetting most of the
	// streams it opens (rapid reset, CVE-2023-44487) makes the server start work it
	// then throws away, at whatever rate the server can take, so a per-second budget
	// alone never trips. Past rapidResetFloor resets, more than half ⇒ calm.
	opened, resets int

	wmu  sync.Mutex // held by writes; calm only tries it
	out  frameScanner
	dead bool
}

// frameBudget wraps an h2c connection whose client preface has not been read yet.
func (s *Server) frameBudget(c net.Conn) net.Conn {
	return &budgetConn{Conn: c, s: s, in: frameScanner{skip: len(h2Preface)}}
}

func (c *budgetConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	for b := p[:n]; ; {
		h, rest, ok := c.in.next(b)
		if !ok {
			break
		}
		b = rest
		if h.typ == frameHeaders && h.stream > c.stream {
			c.stream = h.stream
			c.opened++
		}
		if h.typ == frameRSTStream {
			c.resets++
			if c.resets > rapidResetFloor && 2*c.resets > c.opened {
				c.calm(floodReset)
				return 0, errFlood
			}
		}
		if k, charged := chargeFor(h); charged && !c.spend(k) {
			c.calm(k)
			return 0, errFlood
		}
	}
	return n, err
}

// spend charges one frame to k and reports whether k's budget still holds.
func (c *budgetConn) spend(k floodKind) bool {
	if now := time.Now(); now.After(c.until) {
		c.spent = [floodKinds]int{}
		c.until = now.Add(h2BudgetWindow)
	}
	c.spent[k]++
	return c.spent[k] <= floodBudget(k)
}

// calm sends GOAWAY ENHANCE_YOUR_CALM when no write is under way and the last one
// ended with a whole frame, then closes the connection either way.
func (c *budgetConn) calm(k floodKind) {
	c.s.opts.Logger.Info("h2c flood", "peer", c.RemoteAddr().String(), "frame", k.String())
	c.s.m.refuseConn(listenerPlaintext, "h2_flood_"+k.String())
	if c.wmu.TryLock() {
		if !c.dead && c.out.atBoundary() {
			c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			c.Conn.Write(goAway(c.stream, 0xb)) // ENHANCE_YOUR_CALM
		}
		c.dead = true
		c.wmu.Unlock()
	}
	c.Conn.Close()
}

func (c *budgetConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.dead {
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Write(p)
	for b := p[:n]; ; {
		_, rest, ok := c.out.next(b)
		if !ok {
			break
		}
		b = rest
	}
	return n, err
}

// goAway is a GOAWAY frame: last stream, error code, no debug data.
func goAway(last uint32, code uint32) []byte {
	b := make([]byte, 9+8)
	b[2] = 8
	b[3] = frameGoAway
	binary.BigEndian.PutUint32(b[9:], last)
	binary.BigEndian.PutUint32(b[13:], code)
	return b
}
