package inbound

import (
	"bufio"
	"io"
	"net"
	"time"
)

// deadlineReader refreshes c's read deadline before every Read, so silence longer
// than d ends the connection however long it lives overall.
type deadlineReader struct {
	r io.Reader
	c net.Conn
	d time.Duration
}

func (dr deadlineReader) Read(p []byte) (int, error) {
	dr.c.SetReadDeadline(time.Now().Add(dr.d))
	return dr.r.Read(p)
}

// deadlineWriter refreshes c's write deadline before every Write, so a peer that
// stops reading cannot block the proxy for longer than d.
type deadlineWriter struct {
	c net.Conn
	d time.Duration
}

func (dw deadlineWriter) Write(p []byte) (int, error) {
	dw.c.SetWriteDeadline(time.Now().Add(dw.d))
	return dw.c.Write(p)
}

// bufferedConn reads through the bufio.Reader that sniffing filled, so no byte the
// client sent is lost when the connection changes hands.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// closeWriter is implemented by *net.TCPConn and by tunnel streams.
type closeWriter interface{ CloseWrite() error }

// splice copies both ways until the server side ends or both sides are done, then
// closes both. When the client stops sending, the server is told with a half-close.
func splice(client net.Conn, clientR io.Reader, server net.Conn, idle time.Duration) {
	done := make(chan struct{}, 1)
	go func() {
		io.Copy(server, deadlineReader{clientR, client, idle})
		if cw, ok := server.(closeWriter); ok {
			cw.CloseWrite()
		} else {
			server.Close()
		}
		done <- struct{}{}
	}()
	io.Copy(deadlineWriter{client, idle}, deadlineReader{server, server, idle})
	// The server finished: nothing more can reach the client; stop the other copy.
	client.Close()
	server.Close()
	<-done
}
