package injector

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Config is what the injector adds to a pod. Pod annotations (rampart.io/…) override
// Image, LogLevel, Mode, the resources and the exclusions per pod.
type Config struct {
	// Image is the proxy image. Default DefaultImage.
	Image string
	// ImagePullPolicy is the proxy's pull policy. Default IfNotPresent.
	ImagePullPolicy string
	// LogLevel is passed as RAMPART_LOG_LEVEL (debug, info, warn, error). Default info.
	LogLevel string
	// Mode is STRICT (plaintext inbound refused) or PERMISSIVE. Default STRICT.
	Mode string
	// TrustDomain is the SPIFFE trust domain. Default cluster.local.
	TrustDomain string
	// CPURequest, MemoryRequest, CPULimit, MemoryLimit are Kubernetes quantities;
	// an empty limit means none. Defaults 50m, 64Mi, none, 256Mi.
	CPURequest, MemoryRequest, CPULimit, MemoryLimit string
	// Identity says where proxies get their SVID: IdentityCA (Rampart's cluster CA,
	// from the pod's service-account token; the default) or IdentitySPIRE (the SPIRE
	// agent's Workload API, see SPIRE). A pod picks with rampart.io/identity.
	Identity string
	// CA says how proxies reach the cluster CA (Identity IdentityCA).
	CA CAConfig
	// SPIRE says how the SPIRE agent's Workload API socket reaches the proxy.
	SPIRE SPIREConfig
	// Bundle says where the proxy loads its policy bundle from.
	Bundle BundleConfig
	// RewriteProbes rewrites HTTP, TCP and gRPC app probes through the proxy's admin
	// port so kubelet probes pass under STRICT mTLS. Default true; a pod turns it off
	// with rampart.io/rewrite-app-probes: "false".
	RewriteProbes *bool
	// EgressGateway routes names through the egress gateway (rampart install
	// --egress-gateway renders one and fills Addr and Identity).
	EgressGateway EgressGatewayConfig
}

// EgressGatewayConfig is passed to proxies as RAMPART_EGRESS_GATEWAY,
// RAMPART_EGRESS_GATEWAY_ID and RAMPART_EGRESS_GATEWAY_HOSTS.
type EgressGatewayConfig struct {
	// Addr is the gateway's HBONE address (host:port). Empty: no gateway.
	Addr string
	// Identity is the SPIFFE ID the gateway must present.
	Identity string
	// Hosts are the routed names, comma-separated ("github.com,*.github.com").
	Hosts string
}

// SPIREConfig selects the volume holding the SPIRE agent socket.
type SPIREConfig struct {
	// CSIDriver, when set, mounts the socket directory through that CSI driver
	// (the SPIFFE CSI driver registers "csi.spiffe.io"). Takes precedence over HostPath.
	CSIDriver string
	// HostPath is the node directory holding the agent socket when CSIDriver is empty.
	// Default /run/spire/agent-sockets.
	HostPath string
	// SocketName is the socket's file name in that directory. Default spire-agent.sock.
	SocketName string
}

// CAConfig says where the cluster CA is and how a proxy trusts it.
type CAConfig struct {
	// Addr is the CA's URL. Default https://rampart-injector.rampart-system.svc:15012.
	Addr string
	// Bundle holds the CA's PEM roots, passed to the proxy as RAMPART_CA_BUNDLE: the
	// webhook sets it from the CA it serves, `rampart inject` from --ca-bundle. Empty:
	// the variable is left out and the proxy refuses to start (fail closed).
	Bundle string
	// TokenExpirationSeconds is the lifetime of the projected token (audience
	// rampart) the kubelet writes for the proxy; it refreshes it at 80%. Default 600,
	// the shortest the API server allows.
	TokenExpirationSeconds int64
}

// BundleConfig selects the policy bundle source: a URL wins over a ConfigMap.
type BundleConfig struct {
	// URL is a bundle service URL passed to the proxy as RAMPART_BUNDLE.
	URL string
	// ConfigMap names a ConfigMap in the pod's namespace, mounted read-only; the
	// proxy reads the bundle from Key inside it. Default rampart-policy. The volume is
	// optional: without it the proxy has no policy and denies everything.
	ConfigMap string
	// Key is the bundle file inside the ConfigMap. Default bundle.tar.gz.
	Key string
}

// WithDefaults returns c with every empty field set to its documented default.
func (c Config) WithDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Image, DefaultImage)
	def(&c.ImagePullPolicy, "IfNotPresent")
	def(&c.LogLevel, "info")
	def(&c.Mode, ModeStrict)
	def(&c.TrustDomain, DefaultTrustDomain)
	def(&c.CPURequest, "50m")
	def(&c.MemoryRequest, "64Mi")
	def(&c.MemoryLimit, "256Mi")
	def(&c.Identity, IdentityCA)
	def(&c.CA.Addr, fmt.Sprintf("https://%s.%s.svc:%d", InjectorName, InstallNamespace, DefaultCAPort))
	if c.CA.TokenExpirationSeconds == 0 {
		c.CA.TokenExpirationSeconds = 600
	}
	def(&c.SPIRE.SocketName, "spire-agent.sock")
	if c.SPIRE.CSIDriver == "" {
		def(&c.SPIRE.HostPath, "/run/spire/agent-sockets")
	}
	if c.Bundle.URL == "" {
		def(&c.Bundle.ConfigMap, "rampart-policy")
		def(&c.Bundle.Key, "bundle.tar.gz")
	}
	if c.RewriteProbes == nil {
		t := true
		c.RewriteProbes = &t
	}
	return c
}

// Validate reports the first invalid field after defaults are applied.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if c.Mode != ModeStrict && c.Mode != ModePermissive {
		return fmt.Errorf("mode %q: want %s or %s", c.Mode, ModeStrict, ModePermissive)
	}
	for name, q := range map[string]string{"cpu request": c.CPURequest, "memory request": c.MemoryRequest,
		"cpu limit": c.CPULimit, "memory limit": c.MemoryLimit} {
		if q == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q); err != nil {
			return fmt.Errorf("%s %q: %w", name, q, err)
		}
	}
	if c.Identity != IdentityCA && c.Identity != IdentitySPIRE {
		return fmt.Errorf("identity %q: want %s or %s", c.Identity, IdentityCA, IdentitySPIRE)
	}
	if c.CA.TokenExpirationSeconds < 600 {
		return fmt.Errorf("CA token expiration %ds: the API server's minimum is 600", c.CA.TokenExpirationSeconds)
	}
	if g := c.EgressGateway; (g.Addr == "") != (g.Identity == "") || (g.Addr == "" && g.Hosts != "") {
		return errors.New("egress gateway: address, identity and hosts go together")
	}
	if c.TrustDomain == "" || c.Image == "" {
		return errors.New("trust domain and image must not be empty")
	}
	return nil
}
