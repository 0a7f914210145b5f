package inbound

import (
	"bufio"
	"errors"
	"net"
	"os"
	"time"
)

type protocol int

const (
	protoHTTP1 protocol = iota
	protoH2C
	protoOpaque
	protoNone // the client closed without sending anything
)

const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// sniff peeks at the first bytes to pick a protocol. Only a client that sends nothing
// within the sniff timeout (a server-first protocol) or bytes that cannot start an
// HTTP request is treated as opaque; a slow HTTP client stays HTTP, so dribbling a
// request byte by byte cannot turn it into an L4-authorized stream.
func sniff(c net.Conn, br *bufio.Reader, timeout time.Duration) protocol {
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if err != nil {
			switch {
			case len(b) > 0:
				return protoHTTP1 // undecided: the strict parser will time out or refuse
			case errors.Is(err, os.ErrDeadlineExceeded):
				return protoOpaque
			default:
				return protoNone
			}
		}
		if p, ok := classify(b); ok {
			return p
		}
	}
}

// classify decides from a prefix, or reports that it needs more bytes.
func classify(b []byte) (protocol, bool) {
	if len(b) <= len(h2Preface) && string(b) == h2Preface[:len(b)] {
		if len(b) == len(h2Preface) {
			return protoH2C, true
		}
		return 0, false
	}
	for i, c := range b {
		switch {
		case c == '\r' || c == '\n':
			return protoHTTP1, true // empty lines before a request; the parser decides
		case c == ' ' && i > 0:
			return protoHTTP1, true
		case i >= 32 || !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '-' || c == '_'):
			return protoOpaque, true
		}
	}
	return 0, false
}
