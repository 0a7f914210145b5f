package identity_test

import (
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
// Reports TLS bytes per connection in each direction (handshake, the server's
// session ticket unless disabled, one 1-byte record and close_notify).
func BenchmarkHandshake(b *testing.B) {
	ca := newCA(b, testTD)
	srvCfg := identity.ServerConfig(rotating(b, ca, serverID, 0), testTD, identity.TLSOptions{})
	noTickets := srvCfg.Clone()
	noTickets.SessionTicketsDisabled = true
	withTickets, withoutTickets := benchServer(b, srvCfg), benchServer(b, noTickets)
	clientSrc := rotating(b, ca, clientID, 0)
	// Go's default key exchange is the hybrid X25519MLKEM768, whose key shares add
	// ~2.2 kB per handshake; the x25519 modes show the classic cost for comparison.
	for _, mode := range []struct {
		name   string
		addr   string
		resume bool
		curves []tls.CurveID
	}{
		{"full", withTickets, false, nil},
		{"resumed", withTickets, true, nil},
		{"full-no-tickets", withoutTickets, false, nil},
		{"full-x25519", withTickets, false, []tls.CurveID{tls.X25519}},
		{"resumed-x25519", withTickets, true, []tls.CurveID{tls.X25519}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := identity.ClientConfig(clientSrc, identity.AllowID(serverID), identity.TLSOptions{})
			cfg.CurvePreferences = mode.curves
			if mode.resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				connectOnce(b, mode.addr, cfg, nil) // prime the ticket
			}
			var sent, received atomic.Int64
			resumed := 0
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				if connectOnce(b, mode.addr, cfg, &countingConn{sent: &sent, received: &received}) {
					resumed++
				}
			}
			// CPU of both ends (one process): steadier than wall time on a shared machine.
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(sent.Load())/float64(b.N), "sent-B/op")
			b.ReportMetric(float64(received.Load())/float64(b.N), "recv-B/op")
			b.ReportMetric(float64(resumed)/float64(b.N), "resumed/op")
			if mode.resume && resumed < b.N {
				b.Errorf("only %d of %d handshakes resumed", resumed, b.N)
			}
		})
	}
}

// benchServer accepts on 127.0.0.1, handshakes, writes one byte and drains until the
// client closes.
func benchServer(b *testing.B, cfg *tls.Config) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				tc := tls.Server(c, cfg)
				if tc.Handshake() == nil {
					tc.Write([]byte{1})
					io.Copy(io.Discard, tc)
				}
				tc.Close()
			}()
		}
	}()
	return ln.Addr().String()
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

// cpuTime is this process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
