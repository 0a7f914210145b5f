package sidecar

import (
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/egress"
)

// EgressOptions configure egress decisions for captured connections to
// destinations outside the mesh (sidecar/egress). They apply only when the loaded
// bundles define data.rampart.egress.allow; otherwise such connections pass
// through as before.
type EgressOptions struct {
	// Off turns egress decisions off whatever the policy says.
	Off bool
	// Resolver checks a destination against the name it claims. Default: the
	// system resolver.
	Resolver egress.Resolver
	// HelloTimeout bounds the wait for the app's first bytes; an app still
	// silent is decided by address. Default 1s.
	HelloTimeout time.Duration
	// Gateway routes names through an egress gateway (pod side); see
	// GatewayRoute. Default: none.
	Gateway GatewayRoute
	// ServeGateway makes this proxy the egress gateway: CONNECT streams on the
	// HBONE listener are decided as the peer's egress and dialled from here
	// (inbound.Options.Gateway). It then decides no outbound of its own.
	ServeGateway bool
}

// GatewayRoute is where a pod's proxy sends the names routed through the egress
// gateway.
type GatewayRoute struct {
	// Addr is the gateway's HBONE address, "host:port" (a Service name is
	// resolved at each connection). Empty: no gateway.
	Addr string
	// Identity is the SPIFFE ID the gateway must present. Required with Addr.
	Identity string
	// Hosts are the routed names ("github.com", "*.github.com").
	Hosts []string
}

// newEgress builds the egress guard of this pod, or nil when there is no policy
// engine (an Authorizer replaced it) or egress is off.
func newEgress(opts *Options, engine *rego.Engine, src identity.Source, gw *egress.Gateway) (*egress.Guard, error) {
	eo := opts.Outbound.Egress
	if engine == nil || eo.Off {
		return nil, nil
	}
	return egress.New(egress.Options{
		Decider: engine, Source: egressSource(opts, src), Resolver: eo.Resolver,
		HelloTimeout: eo.HelloTimeout, ConnectTimeout: opts.Outbound.Tuning.ConnectTimeout,
		HTTP: opts.Inbound.Tuning.HTTP, Registerer: opts.Registerer, Logger: opts.Logger,
		Gateway: gw,
	})
}

// egressSource is this pod as egress policy sees it: the SVID's SPIFFE ID (the
// configured one when there is no SVID yet), its namespace, its labels.
func egressSource(opts *Options, src identity.Source) rego.EgressSource {
	s := rego.EgressSource{Namespace: opts.Identity.Namespace, Labels: opts.Inbound.Labels}
	if src != nil {
		if svid, err := src.GetX509SVID(); err == nil {
			s.Principal = svid.ID.String()
			if ns, ok := namespaceOf(svid.ID.Path()); ok {
				s.Namespace = ns
			}
		}
	}
	return s
}

// namespaceOf reads <ns> from a SPIFFE ID path /ns/<ns>/sa/<sa>.
func namespaceOf(path string) (string, bool) {
	parts := strings.Split(path, "/")
	if len(parts) == 5 && parts[1] == "ns" && parts[3] == "sa" {
		return parts[2], true
	}
	return "", false
}
