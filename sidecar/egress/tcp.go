package egress

import (
	"bufio"
	"context"
	"io"
	"net/netip"
	"sync"
	"time"
)

// serveTCP decides by address and port alone; raw is what was already read.
func (g *Guard) serveTCP(ctx context.Context, app Conn, br *bufio.Reader, dst netip.AddrPort, raw []byte) {
	if d := g.decide(ctx, g.input(dst, "tcp"), dst); !d.Allowed {
		lingerClose(app)
		return
	}
	g.forward(ctx, app, br, dst, raw)
}

// forward dials dst, writes raw and what br holds, then splices both ways.
func (g *Guard) forward(ctx context.Context, app Conn, br *bufio.Reader, dst netip.AddrPort, raw []byte) {
	up, err := g.dial(ctx, dst)
	if err != nil {
		g.opts.Logger.Warn("egress: connect failed", "destination", dst, "err", err)
		return
	}
	defer up.Close()
	_ = app.SetReadDeadline(time.Time{})
	buffered, _ := br.Peek(br.Buffered())
	for _, b := range [][]byte{raw, buffered} {
		if _, err := up.Write(b); err != nil {
			return
		}
	}
	splice(app, up)
}

// splice copies both ways (the kernel splices), half-closing each side as its
// peer finishes.
func splice(app, up Conn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(up, app)
		_ = up.CloseWrite()
	}()
	_, _ = io.Copy(app, up)
	_ = app.CloseWrite()
	wg.Wait()
}

// lingerClose sends FIN and reads what the app still sends for a moment: closing
// with unread bytes would reset the connection and could destroy the answer in
// flight.
func lingerClose(app Conn) {
	_ = app.CloseWrite()
	_ = app.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.Copy(io.Discard, io.LimitReader(app, 1<<20))
}
