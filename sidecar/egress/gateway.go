package egress

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/egress/tlshello"
)

// Gateway routes names through the egress gateway: a pod's proxy sends a
// connection whose SNI or first Host is one of Hosts to the gateway over HBONE
// instead of deciding it, and never dials such a name itself.
type Gateway struct {
	// Hosts are the routed names: "github.com" (that name only) or "*.github.com"
	// (its subdomains only). Compared as hosts are: lower case, no trailing dot.
	Hosts []string
	// Dial opens a tunnel to the gateway whose far end is dst (the app's original
	// destination: the gateway checks the name against it again). Required.
	Dial func(ctx context.Context, dst netip.AddrPort) (Conn, error)
}

// hostSet matches names against exact names and "*." suffixes.
type hostSet struct {
	exact    map[string]bool
	suffixes []string // ".github.com"
}

func newHostSet(patterns []string) (hostSet, error) {
	s := hostSet{exact: map[string]bool{}}
	for _, p := range patterns {
		wild := strings.HasPrefix(p, "*.")
		n, ip, err := tlshello.NormalName(strings.TrimPrefix(p, "*."))
		if err != nil || ip {
			return s, fmt.Errorf("gateway host %q: not a DNS name", p)
		}
		if wild {
			s.suffixes = append(s.suffixes, "."+n)
		} else {
			s.exact[n] = true
		}
	}
	return s, nil
}

// has reports whether host (already normal) is routed.
func (s hostSet) has(host string) bool {
	if host == "" {
		return false
	}
	if s.exact[host] {
		return true
	}
	for _, suf := range s.suffixes {
		if strings.HasSuffix(host, suf) {
			return true
		}
	}
	return false
}

// routed reports whether in names a host that goes through the gateway.
func (g *Guard) routed(in *rego.EgressInput) bool {
	return g.gw != nil && g.routes.has(in.Destination.Host)
}

// viaGateway carries the connection to the gateway, replaying raw (what was
// read) and what br holds.
func (g *Guard) viaGateway(ctx context.Context, app Conn, br *bufio.Reader, dst netip.AddrPort, in *rego.EgressInput, raw []byte) {
	up, err := g.dialGateway(ctx, dst, in)
	if err != nil {
		lingerClose(app)
		return
	}
	defer up.Close()
	if _, err := up.Write(raw); err == nil {
		carry(app, br, up)
	}
}

func (g *Guard) dialGateway(ctx context.Context, dst netip.AddrPort, in *rego.EgressInput) (Conn, error) {
	g.metrics.gateway(in)
	ctx, cancel := context.WithTimeout(ctx, g.opts.ConnectTimeout)
	defer cancel()
	up, err := g.gw.Dial(ctx, dst)
	if err != nil {
		g.opts.Logger.Warn("egress: gateway unreachable", "destination", dst, "host", in.Destination.Host, "err", err)
	}
	return up, err
}

// carry writes what br holds to up, then splices app and up both ways.
func carry(app Conn, br *bufio.Reader, up Conn) {
	_ = app.SetReadDeadline(time.Time{})
	buffered, _ := br.Peek(br.Buffered())
	if _, err := up.Write(buffered); err != nil {
		return
	}
	_, _ = br.Discard(len(buffered))
	splice(app, up)
}

// throughGateway refuses direct egress to a routed name (a later request of a
// connection already open to another host): only the gateway may reach it.
func (g *Guard) throughGateway(in *rego.EgressInput) rego.Decision {
	d := g.refuse(in, in.Destination.Host+" is reached through the egress gateway")
	d.Body = "Access denied: " + in.Destination.Host + " is reached through the egress gateway\n"
	return d
}
