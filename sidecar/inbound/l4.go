package inbound

import (
	"bufio"
	"context"
	"net"
)

// serveOpaque authorizes a non-HTTP connection once, by principal and port, then
// copies bytes. A denied connection is closed without a byte reaching the app.
func (s *Server) serveOpaque(ctx context.Context, c net.Conn, br *bufio.Reader, ci *connInfo) {
	d := s.opts.Authorizer.Decide(ctx, ci.l4Input())
	s.m.decision("tcp", d.Allowed)
	if !d.Allowed {
		s.opts.Logger.Debug("l4 denied", "source", ci.source.Principal, "dest", ci.dest.Address, "reason", d.Reason, "decision_id", d.ID)
		return
	}
	up, err := s.pool.dial(ctx, ci.upstream)
	if err != nil {
		s.opts.Logger.Warn("l4 upstream", "upstream", ci.upstream, "err", err)
		s.m.upstreamError("tcp")
		return
	}
	splice(c, br, up, s.opts.Timeouts.StreamIdle)
}
