package inbound_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// BenchmarkIdleKeepAlive measures what an idle HTTP/1.1 keep-alive connection
// costs the proxy: a child process (the clients, so their sockets are not counted)
// opens $RAMPART_IDLE_CONNS connections (default 2000) to a real Server on
// loopback, has one request answered on each and leaves them open. The figures
// are deltas over the same server with one such connection, divided by the
// number of connections:
//
//	go-B/conn     memory the Go runtime holds (what GOMEMLIMIT sees)
//	heap-B/conn   live heap (structs, buffers)
//	stack-B/conn  goroutine stacks, after the collections below
//	rss-B/conn    resident set size
//
// measured after one GC and again (…-gc4) after four: stacks grown while serving
// a request shrink by half at each GC once their goroutine is parked.
//
//	RAMPART_IDLE_CONNS=10000 go test -run '^$' -bench IdleKeepAlive -benchtime 1x ./sidecar/inbound/
func BenchmarkIdleKeepAlive(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("RAMPART_IDLE_CONNS")); err == nil && v > 0 {
		n = v
	}
	a := startApp(b)
	addr := startProxy(b, idleBenchOptions(engine(b, "testdata/policy"), a.addr))
	for range b.N {
		first := openIdle(b, addr, 1)
		before := readMem(1)
		rest := openIdle(b, addr, n)
		after1 := readMem(1)
		after4 := readMem(3)
		for _, m := range []struct {
			suffix string
			after  memFigures
		}{{"", after1}, {"-gc4", after4}} {
			d := m.after.minus(before)
			b.ReportMetric(float64(d.goBytes)/float64(n), "go-B/conn"+m.suffix)
			b.ReportMetric(float64(d.stacks)/float64(n), "stack-B/conn"+m.suffix)
			b.ReportMetric(float64(d.rss)/float64(n), "rss-B/conn"+m.suffix)
			b.ReportMetric(float64(d.heap)/float64(n), "heap-B/conn"+m.suffix)
		}
		b.ReportMetric(float64(after4.goroutines-before.goroutines)/float64(n), "goroutines/conn")
		rest.Close()
		first.Close()
	}
}

// idleClients is the child process holding the idle connections; closing its
// stdin ends it.
type idleClients struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

func (c *idleClients) Close() {
	c.stdin.Close()
	c.cmd.Wait()
}

// openIdle starts a child with n idle connections to addr and returns once
// every one of them has been answered.
func openIdle(b *testing.B, addr string, n int) *idleClients {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientsHelper$")
	cmd.Env = append(os.Environ(), "RAMPART_IDLE_CLIENT="+addr, "RAMPART_IDLE_CLIENT_N="+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "ready") {
		b.Fatalf("idle clients: %q", line)
	}
	return &idleClients{cmd: cmd, stdin: stdin}
}

// TestIdleClientsHelper is the child process of BenchmarkIdleKeepAlive; it does
// nothing in a normal test run.
func TestIdleClientsHelper(t *testing.T) {
	addr := os.Getenv("RAMPART_IDLE_CLIENT")
	if addr == "" {
		t.Skip("only run as BenchmarkIdleKeepAlive's child process")
	}
	n, _ := strconv.Atoi(os.Getenv("RAMPART_IDLE_CLIENT_N"))
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Printf("dial %d: %v\n", i, err)
			return
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(c, "GET /public/idle HTTP/1.1\r\nHost: deathstar\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			fmt.Printf("request %d: %v %v\n", i, resp, err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		c.SetDeadline(time.Time{})
		conns = append(conns, c)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	for _, c := range conns {
		c.Close()
	}
}

// memFigures are the process's memory figures at one moment.
type memFigures struct {
	goBytes, stacks, rss, heap int64
	goroutines                 int
}

func (m memFigures) minus(o memFigures) memFigures {
	return memFigures{m.goBytes - o.goBytes, m.stacks - o.stacks, m.rss - o.rss, m.heap - o.heap, m.goroutines - o.goroutines}
}

// readMem lets the server settle, runs gcs collections and reads the figures.
func readMem(gcs int) memFigures {
	time.Sleep(200 * time.Millisecond)
	for range gcs {
		runtime.GC()
	}
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	f := memFigures{
		goBytes:    int64(s[0].Value.Uint64() - s[1].Value.Uint64()),
		stacks:     int64(s[2].Value.Uint64()),
		heap:       int64(s[3].Value.Uint64()),
		goroutines: runtime.NumGoroutine(),
	}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if fields := strings.Fields(string(b)); len(fields) > 1 {
			pages, _ := strconv.ParseInt(fields[1], 10, 64)
			f.rss = pages * int64(os.Getpagesize())
		}
	}
	return f
}

// idleBenchOptions lets every idle connection in: they all come from 127.0.0.1.
func idleBenchOptions(a inbound.Authorizer, upstream string) inbound.Options {
	return inbound.Options{Authorizer: a, Mode: inbound.Permissive, Upstream: upstream,
		Limits: inbound.Limits{MaxConnections: 1 << 20, MaxConnectionsPerAddress: 1 << 20}}
}
