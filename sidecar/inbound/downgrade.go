package inbound

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// An HTTP/2 client in front of an app that speaks only HTTP/1.1 is downgraded, as
// Envoy does: each stream is forwarded as one HTTP/1.1 request on the pooled app
// connections and its answer relayed as the stream's response. Which protocol an
// app port speaks is learned once per upstream address by a probe (appProtocols):
// the HTTP/2 preface is sent, and an app that does not answer with a SETTINGS frame
// speaks HTTP/1.

// appProtocols remembers, per upstream address, whether the app speaks HTTP/2 with
// prior knowledge. Entries are few (one per app port) and never change: an app that
// learns HTTP/2 later is still served, over HTTP/1.1.
type appProtocols struct {
	mu sync.Mutex
	h2 map[string]bool
}

// speaksH2 reports whether the app at addr speaks h2c, probing it the first time.
// A dial error is returned and not remembered.
func (a *appProtocols) speaksH2(ctx context.Context, addr string, t Timeouts) (bool, error) {
	a.mu.Lock()
	h2, known := a.h2[addr]
	a.mu.Unlock()
	if known {
		return h2, nil
	}
	h2, err := probeH2(ctx, addr, t)
	if err != nil {
		return false, err
	}
	a.mu.Lock()
	if a.h2 == nil {
		a.h2 = map[string]bool{}
	}
	a.h2[addr] = h2
	a.mu.Unlock()
	return h2, nil
}

// probeH2 sends the HTTP/2 client preface and an empty SETTINGS frame and reports
// whether the app's first bytes are a SETTINGS frame (an h2c server must send one
// first). An HTTP/1 server answers with a status line, closes, or says nothing
// within the Dial timeout.
func probeH2(ctx context.Context, addr string, t Timeouts) (bool, error) {
	d := net.Dialer{Timeout: t.Dial}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, fmt.Errorf("probe %s: %w", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(t.Dial))
	settings := []byte{0, 0, 0, byte(http2.FrameSettings), 0, 0, 0, 0, 0}
	if _, err := c.Write(append([]byte(http2.ClientPreface), settings...)); err != nil {
		return false, nil
	}
	var head [9]byte
	n, _ := io.ReadFull(c, head[:])
	return n == len(head) && head[3] == byte(http2.FrameSettings) && head[4]&1 == 0 &&
		!bytes.HasPrefix(head[:], []byte("HTTP/")), nil
}

// h1Transport forwards one downgraded stream over a pooled HTTP/1.1 connection.
type h1Transport struct{ s *Server }

func (t h1Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	req := h1Request(r)
	for attempt := 0; ; attempt++ {
		up, reused, err := t.s.pool.get(r.Context(), r.URL.Host)
		if err != nil {
			return nil, err
		}
		resp, err := t.send(up, req, r.Body)
		if err == nil {
			return t.response(up, resp, r.Method)
		}
		up.Close()
		if !reused || !stale(err) || req.ContentLength != 0 || attempt > 0 {
			return nil, err
		}
	}
}

// h1Request is the HTTP/1.1 head of a downgraded stream: the normalized target and
// host, the header minus what HTTP/1.1 treats as hop-by-hop (TE) and the empty
// User-Agent ReverseProxy adds; a body of unknown length is chunked.
func h1Request(r *http.Request) *httpx.Request {
	req := &httpx.Request{Method: r.Method, Path: r.URL.Opaque, Query: r.URL.RawQuery, Proto: "HTTP/1.1",
		Host: r.Host, ContentLength: r.ContentLength}
	if r.Body == nil || r.Body == http.NoBody {
		req.ContentLength = 0
	}
	for k, vv := range r.Header {
		if strings.EqualFold(k, "Te") || strings.EqualFold(k, "User-Agent") && len(vv) == 1 && vv[0] == "" {
			continue
		}
		for _, v := range vv {
			req.Header = append(req.Header, httpx.Field{Name: k, Value: v})
		}
	}
	return req
}

func (t h1Transport) send(up *upConn, req *httpx.Request, body io.Reader) (*httpx.Response, error) {
	httpx.WriteHead(up.bw, req, nil)
	if err := writeH1Body(up, req, body); err != nil {
		return nil, err
	}
	if err := up.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write upstream: %w", err)
	}
	return t.s.readFinal(up, req.Method)
}

// writeH1Body writes a stream's body with the framing WriteHead announced.
func writeH1Body(up *upConn, req *httpx.Request, body io.Reader) error {
	switch {
	case req.ContentLength > 0:
		n, err := io.CopyN(up.bw, body, req.ContentLength)
		if err != nil || n != req.ContentLength {
			return fmt.Errorf("request body: %d of %d bytes: %w", n, req.ContentLength, err)
		}
	case req.Chunked():
		var buf [16 << 10]byte
		for {
			n, err := body.Read(buf[:])
			if n > 0 {
				if werr := httpx.WriteChunk(up.bw, buf[:n]); werr != nil {
					return fmt.Errorf("request body: %w", werr)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("request body: %w", err)
			}
		}
		up.bw.WriteString("0\r\n\r\n")
	}
	return nil
}

// response turns the app's HTTP/1.1 answer into the stream's; the body is read
// through the connection's BodyReader and the connection is pooled again once it
// was read to the end.
func (t h1Transport) response(up *upConn, resp *httpx.Response, method string) (*http.Response, error) {
	if resp.Status == http.StatusSwitchingProtocols {
		up.Close()
		return nil, &httpx.Error{Status: http.StatusBadGateway, Reason: "101 to a downgraded HTTP/2 request"}
	}
	h := make(http.Header, len(resp.Header))
	for _, f := range resp.Header {
		h.Add(f.Name, f.Value)
	}
	out := &http.Response{StatusCode: resp.Status, Header: h, ContentLength: -1, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	if resp.Framing == httpx.LengthBody {
		out.ContentLength = resp.ContentLength
	}
	up.body.Reset(up.br, resp)
	out.Body = &h1ResponseBody{s: t.s, up: up, resp: resp}
	return out, nil
}

// h1ResponseBody reads a downgraded answer's body from the app connection.
type h1ResponseBody struct {
	s       *Server
	up      *upConn
	resp    *httpx.Response
	pending []byte
	done    bool
	err     error
}

func (b *h1ResponseBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 && b.err == nil {
		b.pending, b.err = b.up.body.Next()
	}
	if len(b.pending) > 0 {
		n := copy(p, b.pending)
		b.pending = b.pending[n:]
		return n, nil
	}
	if b.err == io.EOF {
		b.done = true
	}
	return 0, b.err
}

// Close pools the connection when its body was read to the end, else closes it.
func (b *h1ResponseBody) Close() error {
	if b.up != nil {
		b.s.release(b.up, b.resp, b.done)
		b.up = nil
	}
	return nil
}

// transportFor is how a stream reaches ci's app: HTTP/2 when the app speaks it,
// else downgraded to HTTP/1.1. When the probe cannot reach the app, the h2c
// transport is used and fails the stream as before (503).
func (s *Server) transportFor(ctx context.Context, ci *connInfo) http.RoundTripper {
	if _, port, err := net.SplitHostPort(ci.upstream); err == nil {
		if n, err := strconv.ParseUint(port, 10, 16); err == nil && slices.Contains(s.opts.HTTP1Ports, uint16(n)) {
			return h1Transport{s: s}
		}
	}
	h2, err := s.h2up.protos.speaksH2(ctx, ci.upstream, s.opts.Timeouts)
	if err != nil || h2 {
		return s.h2up
	}
	return h1Transport{s: s}
}
