//go:build linux

package inbound_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/test/support"
)

// dialHalf opens a connection and sends the start of a request head for path.
func dialHalf(t *testing.T, addr, path string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	return &client{c: c, br: bufio.NewReader(c)}
}

// TestParkedMidHead: connections whose clients send their heads in pieces
// (slowloris) hold no goroutine between the pieces, and each is answered, byte
// for byte, once its head is complete, however many pieces it came in and
// however long the head (past what a parked head may hold, its goroutine reads
// the rest).
func TestParkedMidHead(t *testing.T) {
	const n = 100
	a := startApp(t)
	p := startParked(t, a.addr, 30*time.Second, 0)
	dialKept(t, p.addr) // the app's pooled connection is open, as it stays
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	var conns []*client
	for i := range n {
		conns = append(conns, dialHalf(t, p.addr, fmt.Sprintf("/public/half/%d", i)))
	}
	settled(t, base, goroutineSlack, "connections mid-head")
	for _, piece := range []string{"Host: dea", "thstar\r\n", "X-Slow-1: a\r\n", "X-Slow-2: " + strings.Repeat("b", 3000) + "\r\n"} {
		for _, k := range conns {
			if _, err := io.WriteString(k.c, piece); err != nil {
				t.Fatal(err)
			}
		}
		settled(t, base, goroutineSlack, fmt.Sprintf("after %.12q", piece))
	}
	for i, k := range conns {
		tail := "\r\n"
		if i%2 == 1 {
			tail = "X-Long: " + strings.Repeat("c", 3000) + "\r\n\r\n" // past what a parked head holds
		}
		io.WriteString(k.c, tail)
	}
	for i, k := range conns {
		k.expect(t, fmt.Sprintf("/public/half/%d", i))
		k.get(t, fmt.Sprintf("/public/next/%d", i)) // the connection goes on
	}
}

// TestParkedMidHeadDeadline: a head still incomplete at its ReadHeader deadline
// is closed unanswered (parked or not, the deadline counts from its first
// bytes), and so is one whose client closes mid-head; both are released.
func TestParkedMidHeadDeadline(t *testing.T) {
	a := startApp(t)
	p := startParkedWith(t, a.addr, inbound.Timeouts{Idle: 30 * time.Second, ReadHeader: time.Second}, 0)
	slow := dialHalf(t, p.addr, "/public/slow")
	gone := dialHalf(t, p.addr, "/public/gone")
	start := time.Now()
	for range 3 {
		time.Sleep(200 * time.Millisecond)
		io.WriteString(slow.c, "X-Slow: a\r\n")
	}
	gone.c.Close()
	if !slow.closed(4 * time.Second) {
		t.Fatal("a head incomplete past ReadHeader was not closed")
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("closed after %v, before ReadHeader (1s)", d)
	}
	support.Eventually(t, "open connections back to 0", func() bool { return p.open(t) == 0 })
}
