package outbound

import (
	"bytes"
	"io"
	"net"
	"sync"
	"time"
)

// splice copies both ways between two TCP connections (the kernel splices),
// half-closing each side as its peer finishes.
func splice(a, b *net.TCPConn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = b.ReadFrom(a)
		_ = b.CloseWrite()
	}()
	_, _ = a.ReadFrom(b)
	_ = a.CloseWrite()
	wg.Wait()
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// writerOnly and readerOnly hide TCPConn.ReadFrom and WriteTo so io.CopyBuffer
// uses our pooled buffer instead of allocating one per connection.
type (
	writerOnly struct{ io.Writer }
	readerOnly struct{ io.Reader }
)

func copyPooled(dst io.Writer, src io.Reader) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	_, err := io.CopyBuffer(writerOnly{dst}, readerOnly{src}, *bp)
	return err
}

const response503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n" +
	"Content-Length: 20\r\nConnection: close\r\n\r\nupstream unavailable"

// sniffLen is how many first bytes reply503 looks at.
const sniffLen = 8

// maxEarly is the most early data a tunnel reads before its CONNECT is answered:
// one DATA frame of the smallest size a peer may set (RFC 9113 §4.2).
const maxEarly = 16 << 10

// reply503 answers 503 when the app has sent (or sends within a moment) what
// looks like an HTTP/1 request line; otherwise the connection is just closed.
// read is what was already taken from the app (early data), if anything.
func reply503(app *net.TCPConn, read []byte) {
	var buf [sniffLen]byte
	n := copy(buf[:], read)
	if n == 0 {
		_ = app.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _ = io.ReadAtLeast(app, buf[:], 1)
	}
	if looksHTTP1(buf[:n]) {
		_ = app.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(app, response503)
	}
	lingerClose(app)
}

// lingerClose sends FIN and reads what the app still sends for a moment: closing
// with unread bytes would reset the connection and could destroy the 503 in flight.
func lingerClose(app *net.TCPConn) {
	_ = app.CloseWrite()
	_ = app.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.Copy(io.Discard, app)
}

func looksHTTP1(b []byte) bool {
	i := bytes.IndexByte(b, ' ')
	if i < 3 {
		return false
	}
	for _, c := range b[:i] {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
