//go:build linux

package inbound_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
	"github.com/rampart-mesh/rampart/test/support"
)

// parked is a test server whose kept-alive connections get parked: a real
// Server on loopback (plaintext, PERMISSIVE) with its own context, so a test can
// shut it down while connections are parked.
type parked struct {
	addr   string
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
	srv    *inbound.Server
}

func startParked(t *testing.T, appAddr string, idle time.Duration, perAddress int) *parked {
	t.Helper()
	return startParkedWith(t, appAddr, inbound.Timeouts{Idle: idle}, perAddress)
}

func startParkedWith(t *testing.T, appAddr string, timeouts inbound.Timeouts, perAddress int) *parked {
	t.Helper()
	reg := prometheus.NewRegistry()
	srv, err := inbound.New(inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive,
		Upstream: appAddr, Registerer: reg, Timeouts: timeouts,
		Limits: inbound.Limits{MaxConnectionsPerAddress: perAddress}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &parked{addr: ln.Addr().String(), reg: reg, cancel: cancel, done: make(chan error, 1), srv: srv}
	go func() { p.done <- srv.ServePlaintext(ctx, ln) }()
	t.Cleanup(func() { p.shutdown(t) })
	return p
}

// shutdown ends the server and waits for ServePlaintext to return (once).
func (p *parked) shutdown(t *testing.T) {
	t.Helper()
	if p.done == nil {
		return
	}
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("ServePlaintext: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServePlaintext did not return within 10s of shutdown")
	}
	p.done = nil
	p.srv.Close()
}

func (p *parked) open(t *testing.T) float64 {
	t.Helper()
	mfs, err := p.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "rampart_inbound_connections_open" {
			for _, m := range mf.GetMetric() {
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// client is one kept-alive client connection.
type client struct {
	c  net.Conn
	br *bufio.Reader
}

func dialKept(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	k := &client{c: c, br: bufio.NewReader(c)}
	k.get(t, "/public/first")
	return k
}

// get sends the requests for paths in one write (pipelined) and checks each
// answer, in order, byte for byte: the app echoes the request line.
func (k *client) get(t *testing.T, paths ...string) {
	t.Helper()
	var raw []byte
	for _, p := range paths {
		raw = fmt.Appendf(raw, "GET %s HTTP/1.1\r\nHost: deathstar\r\n\r\n", p)
	}
	if _, err := k.c.Write(raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	for _, p := range paths {
		k.expect(t, p)
	}
}

func (k *client) expect(t *testing.T, path string) {
	t.Helper()
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	want := "landed GET " + path
	if err != nil || resp.StatusCode != 200 || string(body) != want || resp.ContentLength != int64(len(want)) {
		t.Fatalf("%s: %d %q (length %d) %v, want 200 %q", path, resp.StatusCode, body, resp.ContentLength, err, want)
	}
}

// closed reports whether the server closed k (EOF) within d.
func (k *client) closed(d time.Duration) bool {
	k.c.SetReadDeadline(time.Now().Add(d))
	_, err := k.br.ReadByte()
	return err == io.EOF
}

// settled waits until the goroutines are back to at most base+slack.
func settled(t *testing.T, base, slack int, what string) {
	t.Helper()
	support.Eventually(t, fmt.Sprintf("%s: goroutines %d, want ≤ %d+%d", what, runtime.NumGoroutine(), base, slack), func() bool { return runtime.NumGoroutine() <= base+slack })
}

// goroutineSlack allows for goroutines that come and go beside the connections
// (the app's, the upstream pool's, the runtime's).
const goroutineSlack = 8

// TestParkedConnectionsResume: idle kept-alive connections are parked (their
// goroutines end while they stay open and counted) and each is served again,
// byte for byte, when its client sends its next request.
func TestParkedConnectionsResume(t *testing.T) {
	const n = 200
	a := startApp(t)
	p := startParked(t, a.addr, 30*time.Second, 0)
	first := dialKept(t, p.addr)
	settled(t, runtime.NumGoroutine(), 0, "first connection") // let it park
	base := runtime.NumGoroutine()
	conns := []*client{first}
	for range n - 1 {
		conns = append(conns, dialKept(t, p.addr))
	}
	settled(t, base, goroutineSlack, "parked connections")
	if got := p.open(t); got != n {
		t.Errorf("open connections while parked = %v, want %d", got, n)
	}
	for round := range 2 {
		for i, k := range conns {
			k.get(t, fmt.Sprintf("/public/%d/%d", round, i))
		}
		settled(t, base, goroutineSlack, "parked again")
	}
	for _, k := range conns {
		k.c.Close()
	}
	support.Eventually(t, "open connections back to 0 once the clients closed", func() bool { return p.open(t) == 0 })
}

// TestParkMoment: requests that arrive right when the connection is being
// parked (whole, pipelined, or a head split across the moment) are each
// answered once and in order.
func TestParkMoment(t *testing.T) {
	a := startApp(t)
	p := startParked(t, a.addr, 30*time.Second, 0)
	k := dialKept(t, p.addr)
	for i, d := range []time.Duration{80, 90, 95, 98, 100, 101, 102, 105, 110, 120, 150, 300} {
		time.Sleep(d * time.Millisecond)
		k.get(t, fmt.Sprintf("/public/a/%d", i), fmt.Sprintf("/public/b/%d", i), fmt.Sprintf("/public/c/%d", i))
	}
	for i, d := range []time.Duration{95, 100, 105, 300} {
		time.Sleep(d * time.Millisecond)
		io.WriteString(k.c, "GET /public/split/"+fmt.Sprint(i)+" HTTP/1.1\r\nHo")
		time.Sleep(10 * time.Millisecond)
		io.WriteString(k.c, "st: deathstar\r\n\r\nGET /public/next HTTP/1.1\r\nHost: deathstar\r\n\r\n")
		k.expect(t, "/public/split/"+fmt.Sprint(i))
		k.expect(t, "/public/next")
	}
}

// TestParkedStress: many connections park and resume at random moments at
// once; every answer is right (with -race: no connection is served by two
// goroutines at once).
func TestParkedStress(t *testing.T) {
	a := startApp(t)
	p := startParked(t, a.addr, 30*time.Second, 0)
	var wg sync.WaitGroup
	for w := range 16 {
		k := dialKept(t, p.addr)
		wg.Go(func() {
			for i := range 12 {
				time.Sleep(time.Duration(60+(w*7+i*13)%80) * time.Millisecond)
				k.get(t, fmt.Sprintf("/public/%d/%d", w, i), fmt.Sprintf("/public/%d/%d/p", w, i))
			}
		})
	}
	wg.Wait()
}

// TestParkedClientCloses: clients closing while parked are released: the open
// gauge is back to zero and the per-address limit admits as many again.
func TestParkedClientCloses(t *testing.T) {
	const n = 20
	a := startApp(t)
	base := runtime.NumGoroutine()
	p := startParked(t, a.addr, 30*time.Second, n)
	var conns []*client
	for range n {
		conns = append(conns, dialKept(t, p.addr))
	}
	settled(t, base, goroutineSlack, "parked connections")
	for _, k := range conns {
		k.c.Close()
	}
	support.Eventually(t, "open connections back to 0", func() bool { return p.open(t) == 0 })
	for range n { // the per-address counter was released for each
		dialKept(t, p.addr)
	}
}

// TestParkedIdleTimeout: a parked connection is closed once its idle timeout
// passes (not before), and released.
func TestParkedIdleTimeout(t *testing.T) {
	a := startApp(t)
	p := startParked(t, a.addr, time.Second, 0)
	k := dialKept(t, p.addr)
	start := time.Now()
	if k.closed(800 * time.Millisecond) {
		t.Fatalf("closed after %v, before the idle timeout of 1s", time.Since(start))
	}
	if !k.closed(3 * time.Second) {
		t.Fatal("a parked connection was not closed within 4s of an idle timeout of 1s")
	}
	support.Eventually(t, "open connections back to 0", func() bool { return p.open(t) == 0 })
}

// TestParkedShutdown: shutting the listener down closes parked connections and
// leaves no goroutine and no file descriptor behind (the parker's epoll and
// eventfd included).
func TestParkedShutdown(t *testing.T) {
	const n = 30
	a := startApp(t)
	base, fds := runtime.NumGoroutine(), openFDs(t)
	p := startParked(t, a.addr, 30*time.Second, 0)
	var conns []*client
	for range n {
		conns = append(conns, dialKept(t, p.addr))
	}
	settled(t, base, goroutineSlack, "parked connections")
	p.shutdown(t)
	for i, k := range conns {
		if !k.closed(5 * time.Second) {
			t.Fatalf("connection %d not closed by shutdown", i)
		}
		k.c.Close()
	}
	settled(t, base, 2, "after shutdown") // the app's connection from the pool may linger
	support.Eventually(t, "file descriptors back to where they were", func() bool { return openFDs(t) <= fds })
}

func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}
