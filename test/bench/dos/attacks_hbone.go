package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// HBONE attacks come from a workload holding a valid SVID of the trust domain.

func hbonePingFlood(ctx context.Context, a *attackEnv) outcome {
	return floodWith(ctx, a, a.t.hbone, a.e.clientTLS, pingFrame)
}

func hboneSettingsFlood(ctx context.Context, a *attackEnv) outcome {
	return floodWith(ctx, a, a.t.hbone, a.e.clientTLS, settingsFrame)
}

// uploadHead is an allowed request announcing a body the app will never read.
const uploadHead = "GET /ok?hold=1 HTTP/1.1\r\nHost: app\r\nContent-Length: 60000000\r\n\r\n"

// hboneUnreadUploads opens many CONNECT streams to the app, each carrying a
// request whose body the app holds unread, and sends body bytes as fast as the
// proxy's flow control allows, past d for as long as the proxy takes more:
// whatever the proxy accepts, it must hold.
func hboneUnreadUploads(ctx context.Context, a *attackEnv) outcome {
	var sent atomic.Int64
	payload := []byte(strings.Repeat("u", 16<<10))
	o := streamsOn(ctx, a, a.t.hbone, a.e.clientTLS, a.s.streamConns, nil, a.upToLimit,
		func(h *h2conn) (uint32, error) { return openConnect(h, a.e.app.addr) },
		func(h *h2conn, ids []uint32) (filling bool) {
			for _, id := range ids {
				for n := h.flow.take(id, int64(len(payload))); n > 0; n = h.flow.take(id, int64(len(payload))) {
					if h.fr.WriteData(id, false, payload[:n]) != nil {
						return filling
					}
					sent.Add(n)
					filling = true
				}
			}
			return filling
		})
	o.note = fmt.Sprintf("%d MiB sent; ", sent.Load()>>20) + o.note
	return o
}

// openConnect opens a CONNECT stream to app and writes the request head into it.
func openConnect(h *h2conn, app string) (uint32, error) {
	h.hbuf.Reset()
	_ = h.enc.WriteField(hpack.HeaderField{Name: ":method", Value: "CONNECT"})
	_ = h.enc.WriteField(hpack.HeaderField{Name: ":authority", Value: app})
	id := h.next
	h.next += 2
	h.flow.track(id)
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.hbuf.Bytes(), EndHeaders: true}); err != nil {
		return 0, err
	}
	h.flow.take(id, int64(len(uploadHead))) // the initial window always holds it
	return id, h.fr.WriteData(id, false, []byte(uploadHead))
}
