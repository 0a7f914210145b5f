package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const getOKReq = "GET /ok HTTP/1.1\r\nHost: app\r\n\r\n"

// keepAliveConn opens a connection, gets /ok once and leaves it idle.
func keepAliveConn(ctx context.Context, addr string) (net.Conn, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, getOKReq); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 1024), nil)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// idleKeepAlive opens idleConns kept-alive connections (one request each) and
// holds them for d. Cost per connection: RSS growth from one connection to all,
// less what Rampart's decision ring grew meanwhile (a fixed cost, at most
// admin.DefaultRingBytes for the whole proxy, filled by the requests, not held
// by the connections), divided by the connections beyond the first.
func idleKeepAlive(ctx context.Context, a *attackEnv) outcome {
	first, err := keepAliveConn(ctx, a.t.h1)
	if err != nil {
		return outcome{err: fmt.Errorf("first connection: %w", err)}
	}
	conns := []net.Conn{first}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(500 * time.Millisecond)
	base, ring := a.t.proc.usage().rssKB, ringKB(ctx, a.t)
	var mu sync.Mutex
	var failed atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) < int64(a.s.idleConns) && ctx.Err() == nil {
				c, err := keepAliveConn(ctx, a.t.h1)
				if err != nil {
					failed.Add(1)
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	time.Sleep(time.Second) // let the target settle
	grown := a.t.proc.usage().rssKB - base - (ringKB(ctx, a.t) - ring)
	o := outcome{note: fmt.Sprintf("%d open, %d failed", len(conns), failed.Load())}
	if len(conns) > 1 {
		o.bytesPerConn = float64(grown*1024) / float64(len(conns)-1)
		o.note = fmt.Sprintf("%.1f KB/conn; ", o.bytesPerConn/1024) + o.note
	}
	w, cancel := a.window(ctx)
	defer cancel()
	<-w.Done()
	return o
}

// dribble opens n connections, writes head on each, then one more piece
// (each(i)) per connection every second until d ends. It reports how many
// connections the server closed.
func dribble(ctx context.Context, a *attackEnv, n int, head string, each func(i int) string) outcome {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := dial(ctx, a.t.h1)
		if err != nil {
			break
		}
		if _, err := io.WriteString(c, head); err != nil {
			c.Close()
			break
		}
		conns = append(conns, c)
	}
	w, cancel := a.window(ctx)
	defer cancel()
	closed := make([]bool, len(conns))
	for i := 0; w.Err() == nil; i++ {
		for j, c := range conns {
			if closed[j] {
				continue
			}
			_ = c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := io.WriteString(c, each(i)); err != nil {
				closed[j] = true
			}
		}
		select {
		case <-w.Done():
		case <-time.After(time.Second):
		}
	}
	k := 0
	for j, c := range conns { // a server that answered and closed shows as readable
		if !closed[j] && serverClosed(c) {
			closed[j] = true
		}
		if closed[j] {
			k++
		}
	}
	return outcome{note: fmt.Sprintf("%d conns, %d closed by the server", len(conns), k)}
}

// serverClosed reports whether the server has sent something or closed c.
func serverClosed(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

// slowloris sends a request head one header line per second.
func slowloris(ctx context.Context, a *attackEnv) outcome {
	return dribble(ctx, a, a.s.slowConns, "GET /ok HTTP/1.1\r\nHost: app\r\n",
		func(i int) string { return "X-Slow-" + strconv.Itoa(i) + ": a\r\n" })
}

// slowBody sends a complete head announcing 1 MB, then one body byte per second.
func slowBody(ctx context.Context, a *attackEnv) outcome {
	return dribble(ctx, a, a.s.slowConns, "GET /ok HTTP/1.1\r\nHost: app\r\nContent-Length: 1000000\r\n\r\n",
		func(int) string { return "a" })
}

// oneShot sends raw (head and body) on a fresh connection and returns the
// answer's status code, or "closed" when the server closed without answering.
func oneShot(ctx context.Context, addr string, raw []byte) string {
	c, err := dial(ctx, addr)
	if err != nil {
		return "dial-error(" + lastPart(err) + ")"
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = c.Write(raw) }() // the server may answer before it has read all
	line, err := bufio.NewReader(c).ReadString('\n')
	if f := strings.Fields(line); err == nil && len(f) >= 2 {
		return f[1]
	}
	return "closed"
}

// repeat runs shot from workers goroutines until d ends or limit shots are done,
// counting the results.
func repeat(ctx context.Context, a *attackEnv, workers, limit int, shot func(ctx context.Context, i int) string) outcome {
	w, cancel := a.window(ctx)
	defer cancel()
	var t tally
	var n atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(n.Add(1)); i <= limit && w.Err() == nil; i = int(n.Add(1)) {
				t.add(shot(w, i))
			}
		}()
	}
	wg.Wait()
	return outcome{note: t.String()}
}

// hugeHeaders alternates one 1 MiB header and 20 000 small headers.
func hugeHeaders(ctx context.Context, a *attackEnv) outcome {
	big := []byte("GET /ok HTTP/1.1\r\nHost: app\r\nX-Big: " + strings.Repeat("a", 1<<20) + "\r\n\r\n")
	var b strings.Builder
	b.WriteString("GET /ok HTTP/1.1\r\nHost: app\r\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "X-H%d: v\r\n", i)
	}
	b.WriteString("\r\n")
	many := []byte(b.String())
	return repeat(ctx, a, 4, 20000, func(ctx context.Context, i int) string {
		if i%2 == 0 {
			return "big:" + oneShot(ctx, a.t.h1, big)
		}
		return "many:" + oneShot(ctx, a.t.h1, many)
	})
}

// pipelined writes 1000 requests at once on a connection and checks that 1000
// answers come back in order.
func pipelined(ctx context.Context, a *attackEnv) outcome {
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "GET /ok?i=%d HTTP/1.1\r\nHost: app\r\n\r\n", i)
	}
	raw := []byte(b.String())
	return repeat(ctx, a, 2, 1000, func(ctx context.Context, _ int) string {
		return pipelineRound(ctx, a.t.h1, raw)
	})
}

func pipelineRound(ctx context.Context, addr string, raw []byte) string {
	c, err := dial(ctx, addr)
	if err != nil {
		return "dial-error(" + lastPart(err) + ")"
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = c.Write(raw) }()
	r := bufio.NewReader(c)
	for i := range 1000 {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return fmt.Sprintf("stopped-at-%d", i/100*100)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "ok "+strconv.Itoa(i) {
			return "out-of-order"
		}
	}
	return "1000-in-order"
}

// chunkAbuse sends chunked bodies built to cost the parser: 1-byte chunks,
// long chunk extensions, long zero-padded sizes, an overflowing size, many trailers.
func chunkAbuse(ctx context.Context, a *attackEnv) outcome {
	head := "GET /ok HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n"
	variants := map[string][]byte{
		"tiny":     []byte(head + strings.Repeat("1\r\na\r\n", 100000) + "0\r\n\r\n"),
		"ext":      []byte(head + strings.Repeat("1;"+strings.Repeat("x", 4096)+"\r\na\r\n", 200) + "0\r\n\r\n"),
		"zeros":    []byte(head + strings.Repeat("0", 100000) + "1\r\na\r\n0\r\n\r\n"),
		"overflow": []byte(head + "fffffffffffffffffff\r\n" + strings.Repeat("a", 65536)),
		"trailers": []byte(head + "0\r\n" + strings.Repeat("X-T: v\r\n", 20000) + "\r\n"),
	}
	names := []string{"tiny", "ext", "zeros", "overflow", "trailers"}
	return repeat(ctx, a, 4, 50000, func(ctx context.Context, i int) string {
		n := names[i%len(names)]
		return n + ":" + oneShot(ctx, a.t.h1, variants[n])
	})
}

// ringKB is the size of Rampart's decision ring in KB (0 for the anchors or
// when unavailable).
func ringKB(ctx context.Context, t *target) int64 {
	if v := t.metric(ctx, "rampart_decision_ring_bytes"); v > 0 {
		return int64(v) / 1024
	}
	return 0
}
