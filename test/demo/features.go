package demo

import (
	"fmt"
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/redirect"
)

// optionalFlag is a proxy feature the scenario uses; names[0] is its flag.
type optionalFlag struct {
	feature string   // what it gives the scenario
	names   []string // accepted flag names, first found wins
	flag    string   // the name found
	port    uint16   // a port the proxy listens on once running (0: none)
	value   func(p *Pod) string
}

func optionalFlags() []optionalFlag {
	return []optionalFlag{
		{feature: "outbound capture (15001)", names: []string{"listen-outbound", "listen-capture", "outbound"},
			port: redirect.OutboundPort, value: func(*Pod) string { return fmt.Sprintf("127.0.0.1:%d", redirect.OutboundPort) }},
		{feature: "service registry", names: []string{"registry", "registry-file", "discovery"},
			value: func(p *Pod) string { return p.env.Path(registryFile) }},
		{feature: "pod addresses (tunnels to others refused)", names: []string{"pod-ips", "pod-ip"},
			value: func(p *Pod) string { return p.IP.String() }},
		{feature: "pod name", names: []string{"pod-name"}, value: func(p *Pod) string { return p.Name }},
		{feature: "admin port (15020)", names: []string{"listen-admin", "admin"},
			port: redirect.AdminPort, value: func(*Pod) string { return fmt.Sprintf(":%d", redirect.AdminPort) }},
	}
}

// proxyFeatures is what the proxy binary supports.
type proxyFeatures struct {
	flags    map[string]bool
	optional []optionalFlag // supported optional flags
	missing  []string       // features of optionalFlags the binary lacks
	ports    []uint16       // ports to wait for at start
	pollFlag string         // the flag setting the bundle poll interval, if any
}

func (f proxyFeatures) has(flag string) bool { return f.flags[flag] }

// detectFeatures returns what rampart-proxy offers. It is built from this
// repository, so its flags are known when the demo compiles (the first name of
// each optional flag; TestProxyOffersDemoFlags holds the proxy to them) rather than
// read from its -help at run time.
func detectFeatures(string) (proxyFeatures, error) {
	f := proxyFeatures{flags: map[string]bool{"bundle": true, "listen-hbone": true, "bundle-reload": true, "bundle-url": true, "egress-resolver": true},
		ports: []uint16{redirect.InboundPort, redirect.TunnelPort}, pollFlag: "bundle-poll"}
	for _, o := range optionalFlags() {
		o.flag = o.names[0]
		f.flags[o.flag] = true
		f.optional = append(f.optional, o)
		if o.port != 0 {
			f.ports = append(f.ports, o.port)
		}
	}
	return f, nil
}

// proxyFeatures returns the proxy binary's features, detected once per Env.
func (e *Env) proxyFeatures() proxyFeatures {
	e.featOnce.Do(func() { e.feat, e.featErr = detectFeatures(e.opts.ProxyBinary) })
	return e.feat
}

// ProxyMissing lists the scenario features the proxy binary does not offer (yet),
// or an error when the binary is not a rampart-proxy at all.
func (e *Env) ProxyMissing() ([]string, error) {
	f := e.proxyFeatures()
	return f.missing, e.featErr
}

// ProxyHas reports whether the proxy offers a feature of ProxyMissing's list,
// matched by a word of it ("outbound", "registry", "admin", "live bundle").
func (e *Env) ProxyHas(word string) bool {
	for _, m := range e.proxyFeatures().missing {
		if strings.Contains(m, word) {
			return false
		}
	}
	return e.featErr == nil
}

// BundlePollInterval returns how often proxies look for a new bundle (BundlePoll)
// and true when the proxy binary lets the harness set it.
func (e *Env) BundlePollInterval() (time.Duration, bool) {
	f := e.proxyFeatures()
	return BundlePoll, f.has("bundle-reload") || f.pollFlag != ""
}

// ProxyHasFlag reports whether the proxy has the flag (known at compile time).
func (e *Env) ProxyHasFlag(flag string) bool {
	f := e.proxyFeatures()
	return e.featErr == nil && f.has(flag)
}
