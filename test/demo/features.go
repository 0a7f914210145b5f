package demo

import (
	"fmt"

	"github.com/rampart-mesh/rampart/redirect"
)

// The demo's rampart-proxy is built from this repository, so the flags the demo
// passes are known when it compiles: TestProxyOffersDemoFlags holds
// rampart-proxy to them, rather than the demo reading its -help at run time.

// podFlag is a per-pod rampart-proxy flag and its value for a pod.
type podFlag struct {
	name  string
	value func(p *Pod) string
}

func podFlags() []podFlag {
	return []podFlag{
		{"listen-outbound", func(*Pod) string { return fmt.Sprintf("127.0.0.1:%d", redirect.OutboundPort) }},
		{"registry", func(p *Pod) string { return p.env.Path(registryFile) }},
		{"pod-ips", func(p *Pod) string { return p.IP.String() }},
		{"pod-name", func(p *Pod) string { return p.Name }},
		{"listen-admin", func(*Pod) string { return fmt.Sprintf(":%d", redirect.AdminPort) }},
	}
}

// proxyPorts are the ports a proxy listens on once running, awaited at start:
// inbound capture's, HBONE's, outbound capture's and the admin server's.
var proxyPorts = []uint16{redirect.InboundPort, redirect.TunnelPort, redirect.OutboundPort, redirect.AdminPort}
