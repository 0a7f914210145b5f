package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/rampart-mesh/rampart/sidecar"
)

// parseFlags reads args, each flag falling back to its variables in lookup, and
// returns the sidecar's options. In a pod (see inPod) the listeners default to
// the contract ports.
func parseFlags(args []string, lookup func(string) (string, bool), stderr io.Writer) (sidecar.Options, func(), error) {
	s, err := parseSettings(args, lookup, stderr)
	if err != nil {
		return sidecar.Options{}, nil, err
	}
	return s.sidecarOptions(stderr)
}

// parseSettings reads args, each flag falling back to its variables in lookup.
func parseSettings(args []string, lookup func(string) (string, bool), stderr io.Writer) (settings, error) {
	pod, err := inPod(lookup)
	if err != nil {
		return settings{}, err
	}
	s := defaultSettings(pod)
	b := s.flagSet()
	b.all.SetOutput(stderr)
	b.all.Usage = func() { b.usage(stderr) }
	if err := b.all.Parse(args); err != nil {
		return settings{}, err
	}
	if b.all.NArg() > 0 {
		return settings{}, fmt.Errorf("unexpected arguments %q", b.all.Args())
	}
	if err := bindEnv(b.all, lookup); err != nil {
		return settings{}, err
	}
	return s, nil
}

// sidecarOptions is options with the JSON logger on stderr at the set level.
func (s *settings) sidecarOptions(stderr io.Writer) (sidecar.Options, func(), error) {
	o, closeLog, err := s.options()
	o.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: s.LogLevel}))
	return o, closeLog, err
}

// flagSet binds every field of s to its flag and variables, section by section.
func (s *settings) flagSet() *binder {
	b := &binder{all: pflag.NewFlagSet("rampart-proxy", pflag.ContinueOnError)}
	b.all.SortFlags = false
	s.policyFlags(b)
	s.inboundFlags(b)
	s.outboundFlags(b)
	s.identityFlags(b)
	s.podFlags(b)
	s.limitFlags(b)
	s.egressFlags(b)
	return b
}

func (s *settings) policyFlags(b *binder) {
	b.section("Policy (server role)")
	b.flag(stringValue{&s.Bundle}, "bundle", "OPA bundle directory, .tar.gz, or http(s) URL of a bundle service (polled every --bundle-poll); only the server role needs one", "RAMPART_BUNDLE")
	b.flag(stringValue{&s.BundleURL}, "bundle-url", "http(s) URL of a bundle service to poll; wins over --bundle", "RAMPART_BUNDLE_URL")
	b.flag(durationValue{&s.BundlePoll, 1}, "bundle-poll", "how often to poll a bundle URL (jittered; backoff after failures)", "RAMPART_BUNDLE_POLL")
	b.flag(durationValue{&s.BundleReload, 0}, "bundle-reload", "how often to check the bundle for changes (0: never)", "RAMPART_BUNDLE_RELOAD")
	b.flag(stringValue{&s.Decision}, "decision", "decision rule (default data.rampart.authz.allow)", "RAMPART_DECISION")
	b.flag(atLeast(&s.RequestBody, 0, "bytes"), "request-body", "bytes of each request body put in the policy input (OPA-Envoy's with_request_body) for policies that read it; 0: only bundles whose manifest opts in", "RAMPART_REQUEST_BODY")
	b.flag(stringValue{&s.DecisionLog}, "decision-log", `decision log file, "-" for stdout`, "RAMPART_DECISION_LOG")
	b.flag(atLeast(&s.DecisionRing, 0, "bytes"), "decision-ring-bytes", "keep the latest decisions, up to this many bytes of decision-log lines, for the admin port's /debug/decisions (rampart observe --admin); 0: off (1048576 keeps about 1 500)", "RAMPART_DECISION_RING_BYTES")
	b.flag(stringValue{&s.ShadowBundle}, "shadow-bundle", "candidate bundle directory or .tar.gz decided beside --bundle, never enforced: disagreements counted, logged and in the decision log", "RAMPART_SHADOW_BUNDLE")
}

func (s *settings) inboundFlags(b *binder) {
	b.section("Server role: authorize inbound requests, forward allowed ones to the app")
	b.flag(stringValue{&s.Plaintext}, "listen-plaintext", "plaintext inbound listener (0.0.0.0:15006 in a pod)", "RAMPART_LISTEN_PLAINTEXT")
	b.flag(stringValue{&s.HBONE}, "listen-hbone", "HBONE mTLS inbound listener (:15008 in a pod); needs an identity", "RAMPART_LISTEN_HBONE")
	b.flag(stringValue{&s.Upstream}, "upstream", "forward allowed traffic here instead of 127.0.0.1:<the port it was sent to>", "RAMPART_UPSTREAM")
	b.flag(choiceValue{&s.Mode, []string{"STRICT", "PERMISSIVE"}}, "mode", "plaintext mode (default STRICT with --listen-hbone, else PERMISSIVE)", "RAMPART_MODE")
	b.flag(labelsValue{&s.Labels}, "labels", "this pod's labels", "RAMPART_LABELS")
	b.flag(addrList(&s.PodIPs), "pod-ips", "this pod's addresses; tunnels to others are refused (default $POD_IP)", "RAMPART_POD_IPS")
	b.flag(stringValue{&s.Workloads}, "workloads", "JSON/YAML file: peer address → namespace, serviceAccount, labels", "RAMPART_WORKLOADS")
	b.flag(choiceValue{&s.Slashes, []string{"reject", "keep", "decode"}}, "slashes", `%2F, %5C and \ in paths`, "RAMPART_SLASHES")
}

func (s *settings) outboundFlags(b *binder) {
	b.section("Client role: tunnel the app's outbound connections to the destination's proxy (no --bundle needed)")
	b.flag(stringValue{&s.Capture}, "listen-outbound", "capture listener for redirected connections (127.0.0.1:15001 in a pod)", "RAMPART_LISTEN_OUTBOUND")
	b.flag(routesValue{&s.Routes}, "route", "explicit route, repeatable: connections to LISTEN are tunnelled to the proxy at DEST's IP, port 15008 (or proxy=ADDR), "+
		"which must present id= if given, and which forwards them to 127.0.0.1:<DEST's port> (or to its --upstream); plain: straight to DEST, no tunnel. "+
		"The variable holds routes separated by ';'", "RAMPART_ROUTES")
	b.flag(stringValue{&s.Registry}, "registry", "service registry JSON file (service VIP → endpoints)", "RAMPART_REGISTRY")
	b.flag(durationValue{&s.ConnectTimeout, 1}, "connect-timeout", "bound on reaching a destination proxy", "RAMPART_CONNECT_TIMEOUT")
	b.flag(choiceValue{&s.Discovery, []string{"file", "node", "kube"}}, "discovery", "where service endpoints and peer labels come from: file (the --registry file, if any), node (rampart-node's socket; the default of injected pods) or kube (the Kubernetes API server itself, for proxies outside a node with rampart-node; needs the RBAC of rampart install --proxy-kube-discovery)", "RAMPART_DISCOVERY")
	b.flag(stringValue{&s.DiscoverySocket}, "discovery-socket", "with --discovery node, rampart-node's discovery socket", "RAMPART_DISCOVERY_SOCKET")
	b.flag(stringValue{&s.Kubeconfig}, "kubeconfig", "kubeconfig for --discovery kube; unset: the pod's service-account token (in-cluster)", "RAMPART_KUBECONFIG", "KUBECONFIG")
	b.flag(stringValue{&s.DiscoveryNS}, "discovery-namespace", "with --discovery kube, watch only this namespace (default: all)", "RAMPART_DISCOVERY_NAMESPACE")
}

func (s *settings) identityFlags(b *binder) {
	b.section("Identity (--listen-hbone and tunnels; the first source set wins: --svid-dir, --ca-dir, --ca-addr, --workload-api)")
	b.flag(stringValue{&s.SVIDDir}, "svid-dir", "directory with svid.pem, svid.key and bundle.pem (cert-manager csi-driver-spiffe, spiffe-helper), reloaded on change", "RAMPART_SVID_DIR")
	b.flag(stringValue{&s.CADir}, "ca-dir", "built-in CA directory (rampart ca init) to issue this proxy's SVID from", "RAMPART_CA_DIR")
	b.flag(stringValue{&s.CAAddr}, "ca-addr", "Rampart cluster CA, https://host:port: SVIDs for this pod's service account from its token", "RAMPART_CA_ADDR")
	b.flag(stringValue{&s.CAToken}, "ca-token-file", "projected service-account token of audience rampart, sent to --ca-addr (re-read on every renewal)", "RAMPART_CA_TOKEN_FILE")
	b.flag(stringValue{&s.CABundle}, "ca-bundle", "PEM roots of the cluster CA (the PEM itself, or a file holding it); needed by --ca-addr", "RAMPART_CA_BUNDLE")
	b.flag(stringValue{&s.WorkloadAPI}, "workload-api", "SPIFFE Workload API address", "RAMPART_WORKLOAD_API", "SPIFFE_ENDPOINT_SOCKET")
	b.flag(stringValue{&s.TrustDomain}, "trust-domain", "SPIFFE trust domain", "RAMPART_TRUST_DOMAIN", "TRUST_DOMAIN")
	b.flag(stringValue{&s.Namespace}, "namespace", "this pod's namespace", "RAMPART_NAMESPACE", "POD_NAMESPACE")
	b.flag(stringValue{&s.ServiceAccount}, "service-account", "this pod's service account", "RAMPART_SERVICE_ACCOUNT", "SERVICE_ACCOUNT")
}

func (s *settings) podFlags(b *binder) {
	b.section("Pod and operation (the injector sets these)")
	b.flag(stringValue{&s.Admin}, "listen-admin", "admin listener: /metrics, /healthz/*, /debug/config, /app-health/* (:15020 in a pod)", "RAMPART_LISTEN_ADMIN")
	b.flag(stringValue{&s.AppProbes}, "app-probes", "app probes rewritten by the injector (JSON)", "RAMPART_APP_PROBES")
	b.flag(stringValue{&s.PodName}, "pod-name", "this pod's name", "POD_NAME")
	b.flag(ipValue(&s.PodIP), "pod-ip", "this pod's IP", "POD_IP")
	b.flag(levelValue{&s.LogLevel}, "log-level", "log level", "RAMPART_LOG_LEVEL")
	b.flag(durationValue{&s.DrainTimeout, 1}, "drain-timeout", "how long open connections may finish after SIGTERM", "RAMPART_DRAIN_TIMEOUT")
	b.flag(portList(&s.ExcludeInPorts), "exclude-inbound-ports", "pod ports the node agent never captures (validated and shown at /debug/config)", "RAMPART_EXCLUDE_INBOUND_PORTS")
	b.flag(portList(&s.ExcludeOutPorts), "exclude-outbound-ports", "destination ports the node agent never captures", "RAMPART_EXCLUDE_OUTBOUND_PORTS")
	b.flag(prefixList(&s.ExcludeOutCIDRs), "exclude-outbound-cidrs", "destination prefixes the node agent never captures", "RAMPART_EXCLUDE_OUTBOUND_CIDRS")
	b.flag(bytesValue{&s.MemoryLimit}, "memory-limit", "the container's memory limit in bytes; GOMEMLIMIT is set to 90 % of it unless GOMEMLIMIT is set (empty: none)", "RAMPART_MEMORY_LIMIT")
	b.flag(boolValue{&s.ReleaseStartupMemory}, "release-startup-memory", "return memory only start-up used, 1 s, 10 s and 60 s after start", "RAMPART_RELEASE_STARTUP_MEMORY")
}

func (s *settings) limitFlags(b *binder) {
	b.section("Limits (server role)")
	b.flag(positive(&s.MaxConns, "count"), "max-connections", "open inbound connections per listener; past it new ones are closed at once (default 16384)", "RAMPART_MAX_CONNECTIONS")
	b.flag(positive(&s.MaxPerAddress, "count"), "max-connections-per-address", "open plaintext connections per source address (default 4096)", "RAMPART_MAX_CONNECTIONS_PER_ADDRESS")
	b.flag(positive(&s.MaxPerIdentity, "count"), "max-connections-per-identity", "open HBONE connections per peer SPIFFE ID (default 1024)", "RAMPART_MAX_CONNECTIONS_PER_IDENTITY")
	b.flag(boolValue{&s.StreamBodies}, "stream-request-bodies", "true: forward request bodies as they arrive (as Envoy) instead of reading up to 16 KiB first (as nginx and HAProxy)", "RAMPART_STREAM_REQUEST_BODIES")
	b.flag(shareValue{&s.MemoryPressure}, "memory-pressure", "share of the memory limit (GOMEMLIMIT) above which new connections and requests are refused with 503 (default 0.9; negative: never)", "RAMPART_MEMORY_PRESSURE")
}

// shareValue is --memory-pressure: a share in (0, 1], or negative for never.
type shareValue struct{ f *float64 }

func (v shareValue) Type() string { return "share" }
func (v shareValue) String() string {
	if *v.f == 0 {
		return ""
	}
	return fmt.Sprint(*v.f)
}

func (v shareValue) Set(s string) error {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x == 0 || x > 1 {
		return fmt.Errorf("want a share in (0, 1], or negative for never")
	}
	*v.f = x
	return nil
}
