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
	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawio"
)

// ServeHBONE accepts HTTP/2-over-mTLS tunnel connections on ln until ctx ends (15008
// role). Every CONNECT stream is one connection from the authenticated peer to the
// app's port, served like a plaintext connection but with the peer's SPIFFE ID as
// principal.
func (s *Server) ServeHBONE(ctx context.Context, ln net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("inbound: HBONE needs Options.TLS")
	}
	return s.accept(ctx, ln, listenerHBONE, nil, func(c net.Conn) {
		tc := tls.Server(rawio.Wrap(c), s.opts.TLS) // raw reads and writes: see rawio
		hctx, cancel := context.WithTimeout(ctx, s.opts.Timeouts.ReadHeader)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			s.opts.Logger.Info("hbone handshake", "peer", c.RemoteAddr().String(), "err", err)
			return
		}
		peer, err := identity.PeerID(tc.ConnectionState())
		if err != nil || tc.ConnectionState().NegotiatedProtocol != http2.NextProtoTLS {
			s.opts.Logger.Info("hbone peer refused", "peer", c.RemoteAddr().String(), "err", err)
			return
		}
		if !s.ids.acquire(peer.String()) {
			s.opts.Logger.Info("hbone peer over its connection limit", "peer", peer)
			s.m.refuseConn(listenerHBONE, refusedPeer)
			return
		}
		defer s.ids.release(peer.String())
		err = hbone.Serve(ctx, tc, s.tunnelConfig(), s.tunnelHandler(ctx, peer.String(), c.RemoteAddr()))
		if err != nil {
			s.opts.Logger.Info("hbone connection", "peer", peer, "err", err)
		}
	})
}

func (s *Server) tunnelConfig() hbone.Config {
	return hbone.Config{
		MaxConcurrentStreams: s.opts.MaxConcurrentStreams,
		MaxHeaderBytes:       uint32(s.opts.HTTP.MaxHeaderBytes),
		IdleTimeout:          s.opts.Timeouts.Idle,
		Logger:               s.opts.Logger,
		// Near the memory limit new streams are refused (REFUSED_STREAM), as new
		// connections and requests are.
		AdmitStream: s.admit,
		// A peer past a frame budget gets GOAWAY ENHANCE_YOUR_CALM; count it.
		OnViolation: func(reason string) { s.m.refuseConn(listenerHBONE, "hbone_flood_"+reason) },
	}
}

// tunnelHandler serves CONNECT streams of one authenticated peer.
func (s *Server) tunnelHandler(ctx context.Context, principal string, remote net.Addr) func(*hbone.Stream) {
	peerIP, _ := netip.ParseAddrPort(remote.String())
	return func(st *hbone.Stream) {
		if s.opts.Gateway != nil {
			s.serveGateway(ctx, st, principal, peerIP.Addr())
			return
		}
		// Labels are looked up per stream: a long-lived tunnel must not keep
		// labels of a pod that has since gone (and whose address was reused).
		source := rego.Peer{Principal: principal, Address: remote.String(),
			Labels: trustedLabels(s.opts.Workloads, principal, peerIP.Addr())}
		req := st.Request()
		ci, status, err := s.tunnelTarget(req, source)
		if err != nil {
			s.opts.Logger.Info("tunnel refused", "source", principal, "authority", req.Authority, "err", err)
			s.m.refuse("hbone", status)
			d := errorDenial(status)
			st.Respond(d.status, denialHeader(d), []byte(d.body))
			return
		}
		if st.Accept() != nil {
			return
		}
		s.serveConn(ctx, st, ci)
	}
}

// tunnelTarget checks a CONNECT request: "ip:port" authority, a port that is not
// the proxy's own.
func (s *Server) tunnelTarget(r *hbone.Request, source rego.Peer) (*connInfo, int, error) {
	if r.Method != http.MethodConnect {
		return nil, http.StatusMethodNotAllowed, fmt.Errorf("method %s in tunnel", r.Method)
	}
	ap, err := netip.ParseAddrPort(r.Authority)
	if err != nil || ap.Port() == 0 {
		return nil, http.StatusBadRequest, fmt.Errorf("authority %q is not ip:port", r.Authority)
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
