package demo

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/rampart-mesh/rampart/redirect"
)

// The egress gateway of the scenario: a pod of its own running rampart-proxy
// --serve-egress-gateway, through which pods a and b reach GatewayHosts.
var (
	gatewaySpec = PodSpec{Name: "egress-gateway", Namespace: "rampart-system", ServiceAccount: "rampart-egress-gateway",
		IP: netip.MustParseAddr("198.18.8.60"), Meshed: true, Labels: map[string]string{"app": "rampart-egress-gateway"}}
	// GatewayIP is the gateway pod's address: what routed hosts see connect.
	GatewayIP = gatewaySpec.IP
	// GatewayHosts are the names routed through the gateway; httpbin.org and
	// evil.example stay with each pod's own proxy.
	GatewayHosts = []string{"github.com", "google.com"}
)

// GatewayID is the SPIFFE ID the pods require of the gateway.
var GatewayID = fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", TrustDomain, gatewaySpec.Namespace, gatewaySpec.ServiceAccount)

// StartEgressGateway builds the egress scenario with eBPF capture and the egress
// gateway: the pods' proxies send GatewayHosts over HBONE to the gateway, which
// decides them with the calling pod's SPIFFE ID and labels and dials out from
// its own address; the rest is decided in each pod as in StartEgress.
func StartEgressGateway(env *Env) (*Egress, error) {
	return startEgress(env, false, true)
}

// startGateway runs the gateway's proxy and returns the pods' flags routing
// GatewayHosts to it.
func (eg *Egress) startGateway(gw *Pod, bundle string) ([]string, error) {
	if err := gw.Mesh(ProxyOptions{Bundle: bundle, Extra: []string{"--serve-egress-gateway"}}); err != nil {
		return nil, err
	}
	return []string{
		"--egress-gateway", netip.AddrPortFrom(gw.IP, redirect.TunnelPort).String(),
		"--egress-gateway-id", GatewayID,
		"--egress-gateway-hosts", strings.Join(GatewayHosts, ","),
	}, nil
}

// ConnsFrom returns how many connections the named internet host accepted from
// addr (a pod's or the gateway's address).
func (eg *Egress) ConnsFrom(host string, addr netip.Addr) int {
	return eg.seen.count(fmt.Sprintf("from %s %s", host, addr))
}
