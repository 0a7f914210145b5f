package identity_test

import (
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/rampart-mesh/rampart/identity"
)

// countingConn counts the bytes a client sends and receives: TLS records on the wire
// (TCP/IP headers excluded).
type countingConn struct {
	net.Conn
	sent, received *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.received.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent.Add(int64(n))
	return n, err
}

// BenchmarkHandshake measures one mTLS handshake over 127.0.0.1, client and server
// side in this process, full (ECDHE + certificates + signatures both ways) against
// resumed (PSK-DHE from a session ticket, re-verified against the bundle). Each
// connection also carries one server byte so the client reads its session ticket.
// Reports wire bytes per handshake in each direction.
func BenchmarkHandshake(b *testing.B) {
	ca := newCA(b, testTD)
	srvCfg := identity.ServerConfig(rotating(b, ca, serverID, 0), testTD, identity.TLSOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				tc := tls.Server(c, srvCfg)
				if tc.Handshake() == nil {
					tc.Write([]byte{1})
					io.Copy(io.Discard, tc) // until the client closes
				}
				tc.Close()
			}()
		}
	}()
	clientSrc := rotating(b, ca, clientID, 0)
	for _, mode := range []string{"full", "resumed"} {
		b.Run(mode, func(b *testing.B) {
			cfg := identity.ClientConfig(clientSrc, identity.AllowID(serverID), identity.TLSOptions{})
			if mode == "resumed" {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				connectOnce(b, ln.Addr().String(), cfg, nil) // prime the ticket
			}
			var sent, received atomic.Int64
			resumed := 0
			b.ReportAllocs()
			for b.Loop() {
				if connectOnce(b, ln.Addr().String(), cfg, &countingConn{sent: &sent, received: &received}) {
					resumed++
				}
			}
			b.ReportMetric(float64(sent.Load())/float64(b.N), "sent-B/op")
			b.ReportMetric(float64(received.Load())/float64(b.N), "recv-B/op")
			b.ReportMetric(float64(resumed)/float64(b.N), "resumed/op")
			if mode == "resumed" && resumed < b.N {
				b.Errorf("only %d of %d handshakes resumed", resumed, b.N)
			}
		})
	}
}

// connectOnce dials, handshakes, reads the server's byte (and with it the session
// ticket) and closes; it reports whether the session was resumed.
func connectOnce(b *testing.B, addr string, cfg *tls.Config, count *countingConn) bool {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	var conn net.Conn = raw
	if count != nil {
		count.Conn = raw
		conn = *count
	}
	tc := tls.Client(conn, cfg)
	defer tc.Close()
	if err := tc.Handshake(); err != nil {
		b.Fatal(err)
	}
	var one [1]byte
	if _, err := io.ReadFull(tc, one[:]); err != nil {
		b.Fatal(err)
	}
	return tc.ConnectionState().DidResume
}
