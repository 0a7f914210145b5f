package injector

import "flag"

// BindFlags registers c's fields as flags on fs. The rampart-injector binary, `rampart
// install` and `rampart inject` share these names, and InstallManifests renders them
// into the injector Deployment's args. Empty values mean the defaults of Config.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Image, "proxy-image", c.Image, "proxy image (default "+DefaultImage+")")
	fs.StringVar(&c.ImagePullPolicy, "proxy-pull-policy", c.ImagePullPolicy, "proxy image pull policy (default IfNotPresent)")
	fs.StringVar(&c.LogLevel, "proxy-log-level", c.LogLevel, "proxy log level: debug, info, warn, error (default info)")
	fs.StringVar(&c.Mode, "mode", c.Mode, "inbound plaintext: STRICT or PERMISSIVE (default STRICT)")
	fs.StringVar(&c.TrustDomain, "trust-domain", c.TrustDomain, "SPIFFE trust domain (default "+DefaultTrustDomain+")")
	fs.StringVar(&c.CPURequest, "proxy-cpu", c.CPURequest, "proxy CPU request (default 50m)")
	fs.StringVar(&c.MemoryRequest, "proxy-memory", c.MemoryRequest, "proxy memory request (default 64Mi)")
	fs.StringVar(&c.CPULimit, "proxy-cpu-limit", c.CPULimit, "proxy CPU limit (default none)")
	fs.StringVar(&c.MemoryLimit, "proxy-memory-limit", c.MemoryLimit, "proxy memory limit (default 256Mi)")
	fs.StringVar(&c.Identity, "identity", c.Identity, "where proxies get SVIDs: ca (Rampart's cluster CA) or spire (default ca)")
	fs.StringVar(&c.CA.Addr, "ca-url", c.CA.Addr, "cluster CA URL proxies send CSRs to (default https://rampart-injector.rampart-system.svc:15012)")
	fs.Int64Var(&c.CA.TokenExpirationSeconds, "ca-token-expiration", c.CA.TokenExpirationSeconds, "lifetime in seconds of the proxy's projected token for the CA (default 600)")
	fs.StringVar(&c.SPIRE.CSIDriver, "spire-csi-driver", c.SPIRE.CSIDriver, "mount the SPIRE agent socket with this CSI driver (e.g. csi.spiffe.io)")
	fs.StringVar(&c.SPIRE.HostPath, "spire-host-path", c.SPIRE.HostPath, "node directory of the SPIRE agent socket (default /run/spire/agent-sockets)")
	fs.StringVar(&c.SPIRE.SocketName, "spire-socket", c.SPIRE.SocketName, "SPIRE agent socket file name (default spire-agent.sock)")
	fs.StringVar(&c.Bundle.URL, "bundle-url", c.Bundle.URL, "policy bundle service URL (instead of a ConfigMap)")
	fs.StringVar(&c.Bundle.ConfigMap, "bundle-configmap", c.Bundle.ConfigMap, "ConfigMap holding the policy bundle (default rampart-policy)")
	fs.StringVar(&c.Bundle.Key, "bundle-key", c.Bundle.Key, "bundle file in that ConfigMap (default bundle.tar.gz)")
	fs.StringVar(&c.EgressGateway.Addr, "egress-gateway-addr", c.EgressGateway.Addr, "egress gateway HBONE address (host:port) proxies tunnel --egress-gateway-hosts to (rampart install --egress-gateway sets it)")
	fs.StringVar(&c.EgressGateway.Identity, "egress-gateway-id", c.EgressGateway.Identity, "SPIFFE ID the egress gateway must present")
	fs.StringVar(&c.EgressGateway.Hosts, "egress-gateway-hosts", c.EgressGateway.Hosts, "names routed through the egress gateway, comma-separated (github.com, *.github.com)")
	if c.RewriteProbes == nil {
		t := true
		c.RewriteProbes = &t
	}
	fs.BoolVar(c.RewriteProbes, "rewrite-probes", *c.RewriteProbes, "rewrite app HTTP/TCP/gRPC probes through the proxy admin port")
}
