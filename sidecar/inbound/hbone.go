package inbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/rego"
)

// ServeHBONE accepts HTTP/2-over-mTLS tunnel connections on ln until ctx ends (15008
// role). Every CONNECT stream is one connection from the authenticated peer to the
// app's port, served like a plaintext connection but with the peer's SPIFFE ID as
// principal.
func (s *Server) ServeHBONE(ctx context.Context, ln net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("inbound: HBONE needs Options.TLS")
	}
	return s.accept(ctx, ln, func(c net.Conn) {
		tc := tls.Server(c, s.opts.TLS)
		hctx, cancel := context.WithTimeout(ctx, s.opts.Timeouts.ReadHeader)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			s.opts.Logger.Info("hbone handshake", "peer", c.RemoteAddr(), "err", err)
			return
		}
		peer, err := identity.PeerID(tc.ConnectionState())
		if err != nil || tc.ConnectionState().NegotiatedProtocol != http2.NextProtoTLS {
			s.opts.Logger.Info("hbone peer refused", "peer", c.RemoteAddr(), "err", err)
			return
		}
		s.h2.ServeConn(tc, &http2.ServeConnOpts{Context: ctx, Handler: s.tunnelHandler(peer.String(), c.RemoteAddr()), BaseConfig: s.h2base})
	})
}

// tunnelHandler serves CONNECT streams of one authenticated peer.
func (s *Server) tunnelHandler(principal string, remote net.Addr) http.Handler {
	peerIP, _ := netip.ParseAddrPort(remote.String())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Labels are looked up per stream: a long-lived tunnel must not keep
		// labels of a pod that has since gone (and whose address was reused).
		source := rego.Peer{Principal: principal, Address: remote.String(),
			Labels: trustedLabels(s.opts.Workloads, principal, peerIP.Addr())}
		ci, status, err := s.tunnelTarget(r, source)
		if err != nil {
			s.opts.Logger.Info("tunnel refused", "source", principal, "authority", r.Host, "err", err)
			s.m.refuse("hbone", status)
			writeH2Denial(w, errorDenial(status))
			return
		}
		w.WriteHeader(http.StatusOK)
		sc := newStreamConn(w, r, remote)
		if err := sc.flush(); err != nil {
			return
		}
		s.serveConn(r.Context(), sc, ci)
	})
}

// tunnelTarget checks a CONNECT request: "ip:port" authority, a port that is not
// the proxy's own.
func (s *Server) tunnelTarget(r *http.Request, source rego.Peer) (*connInfo, int, error) {
	if r.Method != http.MethodConnect {
		return nil, http.StatusMethodNotAllowed, fmt.Errorf("method %s in tunnel", r.Method)
	}
	ap, err := netip.ParseAddrPort(r.Host)
	if err != nil || ap.Port() == 0 {
		return nil, http.StatusBadRequest, fmt.Errorf("authority %q is not ip:port", r.Host)
	}
	if !s.local(ap.Addr()) {
		return nil, http.StatusForbidden, fmt.Errorf("%s is not this pod", ap.Addr())
	}
	if s.reserved(ap.Port()) {
		return nil, http.StatusForbidden, fmt.Errorf("port %d belongs to the proxy", ap.Port())
	}
	return &connInfo{
		source:   source,
		dest:     s.localPeer(ap.String()),
		upstream: s.upstreamFor(ap.Port()),
		scheme:   "https",
	}, 0, nil
}
