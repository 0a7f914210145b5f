package outbound

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// TunnelConn is one HBONE stream: a connection to the far side of a peer proxy.
type TunnelConn interface {
	net.Conn
	// CloseWrite ends the stream's sending side; answers still arrive.
	CloseWrite() error
}

// DialTunnel opens an HBONE stream to dst through the proxy at via, which must
// present id, on the pooled mTLS connection to it (the egress gateway's route).
// The caller closes the stream.
func (p *Proxy) DialTunnel(ctx context.Context, via netip.AddrPort, id spiffeid.ID, dst netip.AddrPort) (TunnelConn, error) {
	if p.opts.TLS == nil {
		return nil, errors.New("outbound: a tunnel needs client TLS")
	}
	st, err := p.openCtx(ctx, target{dst: dst, proxy: via, id: id}, nil)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return st, nil
}
