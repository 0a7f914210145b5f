package injector

// Contracts shared with the proxy and the node agent. They are restated here rather
// than imported because injector is a leaf package (DESIGN.md); a change to any of
// them is a change of the user-visible contract, and test/contract_test.go fails
// unless sidecar/contract (the proxy) and redirect (the node agent) change with it.
const (
	// OutboundPort is where the node agent's connect4/connect6 programs send the
	// app's outbound TCP connections.
	OutboundPort = 15001
	// InboundPlaintextPort receives plaintext inbound connections (PERMISSIVE mode).
	InboundPlaintextPort = 15006
	// TunnelPort is the proxy's inbound mTLS HTTP/2 CONNECT (HBONE) listener.
	TunnelPort = 15008
	// AdminPort serves /metrics, /healthz/*, /debug/* and the /app-health rewrites.
	AdminPort = 15020
	// ProxyUID and ProxyGID are the proxy's user and group; the node agent never
	// redirects their sockets.
	ProxyUID = 1337
	ProxyGID = 1337

	// NamespaceLabel with value NamespaceLabelEnabled opts a namespace in.
	NamespaceLabel        = "rampart.io/injection"
	NamespaceLabelEnabled = "enabled"
	// InjectAnnotation set to "false" opts a single pod out.
	InjectAnnotation = "rampart.io/inject"
	// StatusAnnotation records what was injected; its presence makes injection a no-op.
	StatusAnnotation = "rampart.io/status"
	// DefaultContainerAnnotation is kubectl's: the container `kubectl exec` and
	// `kubectl logs` use without -c. The injector sets it to the pod's first app
	// container unless the pod sets it.
	DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

	// ProxyContainerName is the injected native sidecar's name.
	ProxyContainerName = "rampart-proxy"
	// CheckContainerName is the init container, right after the proxy, that holds
	// the app back until capture is attached (`rampart-proxy check-capture`).
	CheckContainerName = "rampart-check"
	// CheckUID is the check's user and group: not ProxyUID, so capture applies to it.
	CheckUID = 1338
	// CheckAddr and CheckPort are the check's sentinel destination. The kernel
	// refuses a TCP connect to it before sending anything; connect4 redirects it to
	// the proxy, which answers it instead of dialling it.
	CheckAddr = "255.255.255.255"
	CheckPort = 15002
	// DefaultTrustDomain is the SPIFFE trust domain when none is configured.
	DefaultTrustDomain = "cluster.local"
	// DefaultImage is the proxy image used when Config.Image is empty.
	DefaultImage = "ghcr.io/rampart-mesh/rampart-proxy:v0.1.0"
)

// Pod annotations that override Config per pod.
const (
	AnnotationImage          = "rampart.io/proxy-image"
	AnnotationLogLevel       = "rampart.io/log-level"
	AnnotationMode           = "rampart.io/mode"
	AnnotationCPURequest     = "rampart.io/proxy-cpu"
	AnnotationMemoryRequest  = "rampart.io/proxy-memory"
	AnnotationCPULimit       = "rampart.io/proxy-cpu-limit"
	AnnotationMemoryLimit    = "rampart.io/proxy-memory-limit"
	AnnotationExcludeInPorts = "rampart.io/exclude-inbound-ports"
	AnnotationExcludeOutPort = "rampart.io/exclude-outbound-ports"
	AnnotationExcludeOutCIDR = "rampart.io/exclude-outbound-cidrs"
	AnnotationRewriteProbes  = "rampart.io/rewrite-app-probes"
	AnnotationIdentity       = "rampart.io/identity"
	// AnnotationShadowBundle names a ConfigMap of the pod's namespace holding a
	// candidate bundle (same key as the active one) that the proxy decides beside
	// the active bundle without enforcing it (RAMPART_SHADOW_BUNDLE).
	AnnotationShadowBundle = "rampart.io/shadow-bundle"
)

// Environment variables the injected proxy reads (flags with these env fallbacks).
// doc.go describes each; the proxy must use exactly these names.
const (
	EnvPodName         = "POD_NAME"
	EnvPodNamespace    = "POD_NAMESPACE"
	EnvPodIP           = "POD_IP"
	EnvServiceAccount  = "SERVICE_ACCOUNT"
	EnvTrustDomain     = "TRUST_DOMAIN"
	EnvSpiffeSocket    = "SPIFFE_ENDPOINT_SOCKET"
	EnvMode            = "RAMPART_MODE"
	EnvLogLevel        = "RAMPART_LOG_LEVEL"
	EnvBundle          = "RAMPART_BUNDLE"
	EnvShadowBundle    = "RAMPART_SHADOW_BUNDLE"
	EnvExcludeInPorts  = "RAMPART_EXCLUDE_INBOUND_PORTS"
	EnvExcludeOutPorts = "RAMPART_EXCLUDE_OUTBOUND_PORTS"
	EnvExcludeOutCIDRs = "RAMPART_EXCLUDE_OUTBOUND_CIDRS"
	EnvAppProbes       = "RAMPART_APP_PROBES"
	EnvDiscovery       = "RAMPART_DISCOVERY"
	EnvDiscoverySocket = "RAMPART_DISCOVERY_SOCKET"
	EnvMemoryLimit     = "RAMPART_MEMORY_LIMIT"
	EnvCAAddr          = "RAMPART_CA_ADDR"
	EnvCATokenFile     = "RAMPART_CA_TOKEN_FILE"
	EnvCABundle        = "RAMPART_CA_BUNDLE"
	// The egress gateway route (Config.EgressGateway).
	EnvEgressGateway      = "RAMPART_EGRESS_GATEWAY"
	EnvEgressGatewayID    = "RAMPART_EGRESS_GATEWAY_ID"
	EnvEgressGatewayHosts = "RAMPART_EGRESS_GATEWAY_HOSTS"
)

// DiscoveryNode is the EnvDiscovery value of injected proxies: service
// endpoints and peer labels come from rampart-node's socket (NodeSocket), so a
// proxy needs no API access. ("kube", the proxy watching the API server itself,
// is for proxies run without rampart-node; see InstallOptions.ProxyKubeDiscovery.)
const DiscoveryNode = "node"

// NodeSocketDir is the host folder where rampart-node serves discovery, mounted
// at the same path into its container and into every injected proxy.
const NodeSocketDir = "/var/run/rampart/node"

// NodeSocket is rampart-node's discovery socket in NodeSocketDir.
const NodeSocket = NodeSocketDir + "/discovery.sock"

// Identity sources of injected proxies (Config.Identity, rampart.io/identity).
const (
	IdentityCA    = "ca"
	IdentitySPIRE = "spire"
)

// Modes of inbound plaintext handling.
const (
	ModeStrict     = "STRICT"
	ModePermissive = "PERMISSIVE"
)

// Paths inside the proxy container.
const (
	spireMountPath  = "/run/rampart/spire"
	bundleMountPath = "/etc/rampart/bundle"
	shadowMountPath = "/etc/rampart/shadow-bundle"
	tmpMountPath    = "/tmp"
	// caTokenMountPath holds the projected token of audience rampart (file "token").
	caTokenMountPath = "/var/run/secrets/rampart"

	spireVolume   = "rampart-spire"
	bundleVolume  = "rampart-bundle"
	shadowVolume  = "rampart-shadow-bundle"
	tmpVolume     = "rampart-tmp"
	nodeVolume    = "rampart-node"
	caTokenVolume = "rampart-ca-token"

	// AppHealthPrefix is the admin-port path prefix of rewritten app probes:
	// /app-health/<container>/<livez|readyz|startupz>.
	AppHealthPrefix = "/app-health/"
)
