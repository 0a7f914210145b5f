package sidecar

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar/httpx"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// Options configure one proxy process. Each listener or concern has its own
// sub-struct; a zero field means its documented default (setDefaults).
type Options struct {
	// Logger receives the proxy's logs. Default: slog.Default().
	Logger *slog.Logger
	// Registerer receives the proxy's Prometheus collectors. Default: none kept.
	Registerer prometheus.Registerer
	// Policy says where decisions come from.
	Policy PolicyOptions
	// Identity says where this proxy's SVID comes from. Without one, no mTLS
	// listener runs.
	Identity IdentityOptions
	// Inbound configures the server side (15006 plaintext, 15008 HBONE).
	Inbound InboundOptions
	// Outbound configures the client side (15001 capture, explicit routes).
	Outbound OutboundOptions
	// Discovery selects Kubernetes service discovery (else Outbound.RegistryFile).
	Discovery DiscoveryOptions
	// Admin configures the admin listener (15020).
	Admin AdminOptions
	// Capture holds the injector's capture exclusions, only reported at
	// /debug/config: capturing is the node agent's job.
	Capture CaptureOptions
	// DrainTimeout bounds how long open connections may finish after shutdown
	// starts (SIGTERM). Default 5s.
	DrainTimeout time.Duration
}

// PolicyOptions select the authorizer.
type PolicyOptions struct {
	// Bundle is an OPA bundle directory or .tar.gz file, or the http(s) URL of
	// a bundle service (OPA's bundle protocol, polled every PollInterval).
	// Required unless Authorizer is set. Without a loadable bundle every
	// request is denied. A path must load at start; a URL is fetched in the
	// background and the proxy is not ready until the first bundle loads.
	Bundle string
	// Decision is the rule to evaluate. Default rego.DefaultDecision
	// ("data.rampart.authz.allow").
	Decision string
	// DecisionLog receives one JSON line per decision. Default: none.
	DecisionLog io.Writer
	// DryRun logs denies but lets them through (never engine failures).
	DryRun bool
	// RequestBodyBytes > 0 puts request bodies in the input for every bundle, as
	// OPA-Envoy's with_request_body: up to this many bytes are buffered (capped at
	// rego.MaxRequestBodyBytes), and only for policies that read the body. Default
	// 0: only bundles that opt in through their manifest get bodies.
	RequestBodyBytes int
	// ReloadInterval is how often the bundle path is checked for changes; a
	// changed bundle is loaded, a bad one refused while the last good one keeps
	// deciding. Default 5s; negative: never.
	ReloadInterval time.Duration
	// AllowMissing starts the proxy even when the bundle path does not exist
	// yet (the injector's optional ConfigMap): it denies everything and is not
	// ready until the bundle appears and loads (needs ReloadInterval > 0).
	AllowMissing bool
	// PollInterval is how often a bundle URL is polled (with jitter, and
	// backoff after failures; a failed poll keeps the last good bundle).
	// Default 5s.
	PollInterval time.Duration
	// DecisionRingBytes is how much of the latest decision log the proxy keeps
	// in memory for its admin port's /debug/decisions (rampart observe), when
	// the admin listener is on. 0 (the default): no ring. Off by default because
	// the ring makes every decision encode a log line: in the hostile-peer suite,
	// 4 000 idle connections cost 4.4–4.9 KB each with it against 2.7–3.0 without.
	DecisionRingBytes int
	// ShadowBundle is a candidate bundle (directory or .tar.gz) decided beside
	// Bundle for every request and never enforced: disagreements are counted in
	// rampart_policy_shadow_disagreements_total{direction}, logged, and written to
	// the decision log. It is reloaded like Bundle; it must load at start.
	ShadowBundle string
	// Authorizer, when set, replaces the bundle engine (tests, embedding).
	Authorizer inbound.Authorizer
}

// IdentityOptions select the SVID source: Source, else the files in SVIDDir,
// else the built-in CA in CADir, else the cluster CA at CAAddr, else the SPIFFE
// Workload API at WorkloadAPI, else none.
type IdentityOptions struct {
	// Source is a ready SVID and bundle source (tests, embedding).
	Source identity.Source
	// SVIDDir holds svid.pem, svid.key and bundle.pem, written by something else
	// (cert-manager's csi-driver-spiffe, spiffe-helper, `rampart ca issue`) and
	// reloaded when they change (identity.NewFileSource). The SVID's trust
	// domain must be TrustDomain.
	SVIDDir string
	// CADir holds the built-in CA (identity.InitCA); the proxy issues itself a
	// rotating SVID for Namespace/ServiceAccount from it.
	CADir string
	// CAAddr is Rampart's cluster CA (https://host:port): the proxy sends it a CSR
	// with the token in CATokenFile and gets an SVID for its service account,
	// renewed at half-life (identity.NewCAClientSource). CABundle holds the PEM
	// roots the CA's certificate chains to.
	CAAddr      string
	CATokenFile string
	CABundle    []byte
	// WorkloadAPI is the SPIRE agent's Workload API address.
	WorkloadAPI string
	// TrustDomain of this mesh. Default "cluster.local".
	TrustDomain string
	// Namespace and ServiceAccount name this workload (with CADir; with CAAddr the
	// SVID the CA issues must carry their ID).
	Namespace, ServiceAccount string
}

// InboundOptions configure the inbound listeners.
type InboundOptions struct {
	// PlaintextAddr is the plaintext listener (":15006" in a pod); "" = off.
	PlaintextAddr string
	// HBONEAddr is the mTLS tunnel listener (":15008" in a pod); "" = off. Needs an
	// identity.
	HBONEAddr string
	// Mode of the plaintext listener: inbound.Strict refuses, inbound.Permissive
	// authorizes as unauthenticated.
	Mode inbound.Mode
	// Upstream forwards every allowed connection to this address instead of
	// 127.0.0.1:<destination port> (rampart-proxy --upstream).
	Upstream string
	// Labels are this pod's labels (destination.labels).
	Labels map[string]string
	// PodIPs are this pod's addresses; when set, tunnels to other addresses are
	// refused (see inbound.Options.PodIPs).
	PodIPs []netip.Addr
	// WorkloadsFile maps peer pod addresses to namespace, service account and
	// labels (source.labels); see inbound.LoadWorkloads. Workloads, when set, wins.
	WorkloadsFile string
	Workloads     inbound.WorkloadResolver
	// Tuning holds limits and timeouts (inbound.Options: HTTP, Timeouts,
	// MaxConcurrentStreams, MaxIdleUpstream, ReservedPorts); the other fields of
	// it are filled by Run.
	Tuning inbound.Options
}

// CaptureOptions are the ports and prefixes the node agent never redirects
// (RAMPART_EXCLUDE_*). The proxy validates them at start so a typo fails
// loudly, and shows them at /debug/config.
type CaptureOptions struct {
	ExcludeInboundPorts  []uint16       `json:"excludeInboundPorts"`
	ExcludeOutboundPorts []uint16       `json:"excludeOutboundPorts"`
	ExcludeOutboundCIDRs []netip.Prefix `json:"excludeOutboundCIDRs"`
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Policy.ReloadInterval == 0 {
		o.Policy.ReloadInterval = 5 * time.Second
	}
	if o.Policy.PollInterval <= 0 {
		o.Policy.PollInterval = 5 * time.Second
	}
	if o.Identity.TrustDomain == "" {
		o.Identity.TrustDomain = "cluster.local"
	}
	if o.Discovery.SyncTimeout <= 0 {
		o.Discovery.SyncTimeout = 30 * time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 5 * time.Second
	}
}

// ParseSlashRule reads "reject", "keep" or "decode" (see httpx.SlashRule).
func ParseSlashRule(s string) (httpx.SlashRule, error) {
	switch s {
	case "", "reject":
		return httpx.RejectSlashes, nil
	case "keep":
		return httpx.KeepSlashesEncoded, nil
	case "decode":
		return httpx.DecodeSlashes, nil
	}
	return 0, fmt.Errorf("slash rule %q: want reject, keep or decode", s)
}
