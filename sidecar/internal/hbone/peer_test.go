package hbone_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// peer is a hand-driven HTTP/2 client of a server run by hbone.ServeConn
// over net.Pipe: the test writes exact frames and sees every frame the
// server writes, in order, and checks the server never sends past the
// windows this peer granted (RFC 9113 §6.9), whatever the test does.
type peer struct {
	t      *testing.T
	fr     *http2.Framer
	conn   *hbone.Conn
	frames chan frame
	served chan error

	initial int64            // our current SETTINGS_INITIAL_WINDOW_SIZE
	conn0   int64            // connection credit granted minus DATA received
	credit  map[uint32]int64 // stream credit granted minus DATA received, less initial
	got     map[uint32][]byte
}

// frame is one frame the server wrote; data is a copy of DATA's payload and
// block a copy of a header block (the framer reuses its buffers).
type frame struct {
	http2.Frame
	data, block []byte
}

// newPeer starts a server with cfg and handle, sends the preface and
// SETTINGS (settings), and reads the server's SETTINGS.
func newPeer(t *testing.T, cfg hbone.Config, handle func(*hbone.Stream), settings ...http2.Setting) *peer {
	t.Helper()
	client, server := net.Pipe()
	conn, serve := hbone.ServeConn(server, cfg, handle)
	p := &peer{t: t, fr: http2.NewFramer(client, client), conn: conn, frames: make(chan frame, 1024),
		served: make(chan error, 1), initial: 65535, conn0: 65535, credit: map[uint32]int64{}, got: map[uint32][]byte{}}
	go func() { p.served <- serve(context.Background()) }()
	go p.read()
	t.Cleanup(func() {
		client.Close()
		select {
		case <-p.served:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after the peer closed")
		}
	})
	client.SetWriteDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(client, http2.ClientPreface)
	p.fr.WriteSettings(settings...)
	for _, s := range settings {
		if s.ID == http2.SettingInitialWindowSize {
			p.initial = int64(s.Val)
		}
	}
	p.next(func(f frame) bool { _, ok := f.Frame.(*http2.SettingsFrame); return ok })
	return p
}

// read copies every frame the server writes onto p.frames.
func (p *peer) read() {
	defer close(p.frames)
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			return
		}
		ev := frame{Frame: f}
		switch f := f.(type) {
		case *http2.DataFrame:
			ev.data = append([]byte(nil), f.Data()...)
		case *http2.HeadersFrame:
			ev.block = append([]byte(nil), f.HeaderBlockFragment()...)
		}
		p.frames <- ev
	}
}

// next returns the first frame for which match is true, accounting for every
// frame on the way; it fails the test after 5 s.
func (p *peer) next(match func(frame) bool) frame {
	p.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-p.frames:
			if !ok {
				p.t.Fatalf("connection closed while waiting (err %v)", p.conn.Err())
			}
			p.account(f)
			if match(f) {
				return f
			}
		case <-timeout:
			p.t.Fatal("timed out waiting for a frame")
		}
	}
}

// account checks a DATA frame against the windows this peer granted.
func (p *peer) account(f frame) {
	p.t.Helper()
	d, ok := f.Frame.(*http2.DataFrame)
	if !ok {
		return
	}
	n := int64(d.Length)
	p.conn0 -= n
	p.credit[d.StreamID] -= n
	if p.conn0 < 0 {
		p.t.Fatalf("server sent %d bytes past the connection window", -p.conn0)
	}
	if w := p.initial + p.credit[d.StreamID]; w < 0 {
		p.t.Fatalf("stream %d: server sent %d bytes past the stream window", d.StreamID, -w)
	}
	p.got[d.StreamID] = append(p.got[d.StreamID], f.data...)
}

// until reads frames until cond holds (checked after each frame).
func (p *peer) until(cond func() bool) {
	p.t.Helper()
	if cond() {
		return
	}
	p.next(func(frame) bool { return cond() })
}

// quiet gives blocked writers time to break a window, then reads until a
// PING is answered: any DATA past the windows on the way fails the test.
func (p *peer) quiet() {
	p.t.Helper()
	time.Sleep(20 * time.Millisecond)
	p.fr.WritePing(false, [8]byte{'q'})
	p.next(func(f frame) bool {
		pf, ok := f.Frame.(*http2.PingFrame)
		return ok && pf.IsAck() && pf.Data == [8]byte{'q'}
	})
}

func (p *peer) open(id uint32) {
	p.t.Helper()
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true,
		BlockFragment: block(":method", "CONNECT", ":authority", "198.18.0.1:80")})
	p.next(func(f frame) bool { h, ok := f.Frame.(*http2.HeadersFrame); return ok && h.StreamID == id })
}

func (p *peer) settings(s ...http2.Setting) {
	p.t.Helper()
	p.fr.WriteSettings(s...)
	for _, s := range s {
		if s.ID == http2.SettingInitialWindowSize {
			p.initial = int64(s.Val)
		}
	}
	p.next(func(f frame) bool { s, ok := f.Frame.(*http2.SettingsFrame); return ok && s.IsAck() })
}

func (p *peer) windowUpdate(id uint32, n uint32) {
	p.fr.WriteWindowUpdate(id, n)
	if id == 0 {
		p.conn0 += int64(n)
	} else {
		p.credit[id] += int64(n)
	}
}

// decode decodes a header block with dec.
func decode(t *testing.T, dec *hpack.Decoder, b []byte) map[string]string {
	t.Helper()
	got := map[string]string{}
	dec.SetEmitFunc(func(f hpack.HeaderField) { got[f.Name] = f.Value })
	if _, err := dec.Write(b); err != nil {
		t.Fatalf("decode header block %x: %v", b, err)
	}
	if err := dec.Close(); err != nil {
		t.Fatalf("decode header block %x: %v", b, err)
	}
	return got
}
