package inbound

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// GatewayConn is one tunnelled connection at the egress gateway.
type GatewayConn interface {
	net.Conn
	CloseWrite() error
}

// Gateway serves one connection a peer tunnelled to dst, a destination outside
// the mesh, deciding it as src's egress (sidecar/egress.Guard.ServeGateway).
type Gateway func(ctx context.Context, c GatewayConn, src rego.EgressSource, dst netip.AddrPort)

// serveGateway hands a CONNECT stream of an authenticated peer to the egress
// gateway, the peer's SPIFFE ID and its discovered labels as the source.
func (s *Server) serveGateway(ctx context.Context, st *hbone.Stream, principal string, peer netip.Addr) {
	req := st.Request()
	dst, status, err := s.gatewayTarget(req)
	if err != nil {
		s.opts.Logger.Info("gateway tunnel refused", "source", principal, "authority", req.Authority, "err", err)
		s.m.refuse("hbone", status)
		d := errorDenial(status)
		_ = st.Respond(d.status, denialHeader(d), []byte(d.body))
		return
	}
	if st.Accept() != nil {
		return
	}
	src := rego.EgressSource{Principal: principal, Labels: trustedLabels(s.opts.Workloads, principal, peer)}
	if id, err := spiffeid.FromString(principal); err == nil {
		if w, err := identity.WorkloadOf(id); err == nil {
			src.Namespace = w.Namespace
		}
	}
	s.opts.Gateway(ctx, st, src, dst)
}

// gatewayTarget checks a CONNECT request at the gateway: "ip:port" authority,
// never the gateway itself (loopback, its own addresses, unspecified): a peer
// must not reach the gateway's admin or other local ports through it.
func (s *Server) gatewayTarget(r *hbone.Request) (netip.AddrPort, int, error) {
	if r.Method != http.MethodConnect {
		return netip.AddrPort{}, http.StatusMethodNotAllowed, fmt.Errorf("method %s in tunnel", r.Method)
	}
	ap, err := netip.ParseAddrPort(r.Authority)
	if err != nil || ap.Port() == 0 {
		return ap, http.StatusBadRequest, fmt.Errorf("authority %q is not ip:port", r.Authority)
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() || (len(s.opts.PodIPs) > 0 && s.local(a)) {
		return ap, http.StatusForbidden, fmt.Errorf("%s is the gateway itself", a)
	}
	return netip.AddrPortFrom(a, ap.Port()), 0, nil
}
