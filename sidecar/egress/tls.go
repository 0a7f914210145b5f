package egress

import (
	"bufio"
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/egress/tlshello"
)

// accessDenied is a fatal TLS alert record: level 2 (fatal), description 49
// (access_denied), in a TLS 1.2 record as TLS 1.3 clients accept before the
// handshake.
var accessDenied = []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 49}

// serveTLS decides by the ClientHello's SNI and forwards the hello unchanged.
func (g *Guard) serveTLS(ctx context.Context, app Conn, br *bufio.Reader, dst netip.AddrPort) {
	raw, h, err := tlshello.Read(br, g.opts.MaxHello)
	in := g.input(dst, "tls")
	switch {
	case errors.Is(err, tlshello.ErrNotTLS):
		g.serveTCP(ctx, app, br, dst, raw)
		return
	case err != nil:
		g.refuse(in, "ClientHello: "+err.Error())
		denyTLS(app)
		return
	}
	in.Destination.SNI = h.ServerName
	if h.ServerName != "" && !h.IPLiteral && !h.ECH {
		in.Destination.Host = h.ServerName // else no trusted name: by address only
	}
	if g.routed(in) {
		g.viaGateway(ctx, app, br, dst, in, raw)
		return
	}
	if d := g.decide(ctx, in, dst); !d.Allowed {
		denyTLS(app)
		return
	}
	g.forward(ctx, app, br, dst, raw)
}

// denyTLS writes the access_denied alert, then closes without resetting.
func denyTLS(app Conn) {
	_ = app.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = app.Write(accessDenied)
	lingerClose(app)
}
