package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// config holds the raw flag values before they become sidecar.Options.
type config struct {
	bundle, decision, decisionLog            string
	plaintext, hbone, upstream, mode, labels string
	workloads, podIPs                        string
	caDir, workloadAPI, trustDomain, ns, sa  string
	svidDir, caAddr, caToken, caBundle       string
	slashes, reload, bundleURL, poll         string
	requestBody, shadowBundle                string
	out                                      outConfig
	disc                                     discoveryConfig
	pod                                      podConfig
	limits                                   limitsConfig
	egress                                   egressConfig
	level                                    slog.Level
	inPod                                    bool
}

// parseFlags reads args, each flag falling back to its RAMPART_* variable. In a
// pod (see inPod) the listeners default to the contract ports.
func parseFlags(args []string, stderr io.Writer) (sidecar.Options, func(), error) {
	fs := flag.NewFlagSet("rampart-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pod, err := inPod()
	if err != nil {
		return sidecar.Options{}, nil, err
	}
	c := config{inPod: pod}
	str := func(p *string, name, env, def, usage string) {
		if v, ok := os.LookupEnv(env); ok {
			def = v
		}
		fs.StringVar(p, name, def, usage+" ($"+env+")")
	}
	str(&c.bundle, "bundle", "RAMPART_BUNDLE", "", "OPA bundle directory, .tar.gz, or http(s) URL of a bundle service (polled every --bundle-poll)")
	str(&c.shadowBundle, "shadow-bundle", "RAMPART_SHADOW_BUNDLE", "", "candidate bundle directory or .tar.gz decided beside --bundle, never enforced: disagreements counted, logged and in the decision log")
	str(&c.bundleURL, "bundle-url", "RAMPART_BUNDLE_URL", "", "http(s) URL of a bundle service to poll; wins over --bundle")
	str(&c.poll, "bundle-poll", "RAMPART_BUNDLE_POLL", "5s", "how often to poll a bundle URL (jittered; backoff after failures)")
	str(&c.reload, "bundle-reload", "RAMPART_BUNDLE_RELOAD", "5s", "how often to check the bundle for changes (0: never)")
	str(&c.decision, "decision", "RAMPART_DECISION", "", "decision rule (default data.rampart.authz.allow)")
	str(&c.requestBody, "request-body", "RAMPART_REQUEST_BODY", "0", "bytes of each request body put in the policy input (OPA-Envoy's with_request_body) for policies that read it; 0: only bundles whose manifest opts in")
	str(&c.decisionLog, "decision-log", "RAMPART_DECISION_LOG", "", `decision log file, "-" for stdout`)
	str(&c.plaintext, "listen-plaintext", "RAMPART_LISTEN_PLAINTEXT", podDefault(pod, podPlaintext), "plaintext inbound listener (15006 in a pod)")
	str(&c.hbone, "listen-hbone", "RAMPART_LISTEN_HBONE", podDefault(pod, podHBONE), "HBONE mTLS inbound listener (15008 in a pod)")
	str(&c.upstream, "upstream", "RAMPART_UPSTREAM", "", "forward allowed traffic here instead of 127.0.0.1:<port>")
	str(&c.mode, "mode", "RAMPART_MODE", "", "plaintext mode STRICT|PERMISSIVE (default STRICT with --listen-hbone, else PERMISSIVE)")
	str(&c.labels, "labels", "RAMPART_LABELS", "", "this pod's labels, k=v,k=v")
	str(&c.podIPs, "pod-ips", "RAMPART_POD_IPS", "", "this pod's addresses, comma-separated; tunnels to others are refused")
	str(&c.workloads, "workloads", "RAMPART_WORKLOADS", "", "JSON/YAML file: peer address → namespace, serviceAccount, labels")
	str(&c.svidDir, "svid-dir", "RAMPART_SVID_DIR", "", "directory with svid.pem, svid.key and bundle.pem (cert-manager csi-driver-spiffe, spiffe-helper), reloaded on change; wins over --ca-dir and --workload-api")
	str(&c.caDir, "ca-dir", "RAMPART_CA_DIR", "", "built-in CA directory to issue this proxy's SVID from")
	str(&c.caAddr, "ca-addr", "RAMPART_CA_ADDR", "", "Rampart cluster CA, https://host:port: SVIDs for this pod's service account from its token; wins over --workload-api")
	str(&c.caToken, "ca-token-file", "RAMPART_CA_TOKEN_FILE", "/var/run/secrets/rampart/token", "projected service-account token of audience rampart, sent to --ca-addr (re-read on every renewal)")
	str(&c.caBundle, "ca-bundle", "RAMPART_CA_BUNDLE", "", "PEM roots of the cluster CA (the PEM itself, or a file holding it)")
	str(&c.workloadAPI, "workload-api", "RAMPART_WORKLOAD_API", envOr("", "SPIFFE_ENDPOINT_SOCKET"), "SPIFFE Workload API address (or $SPIFFE_ENDPOINT_SOCKET)")
	str(&c.trustDomain, "trust-domain", "RAMPART_TRUST_DOMAIN", envOr("cluster.local", "TRUST_DOMAIN"), "SPIFFE trust domain (or $TRUST_DOMAIN)")
	str(&c.ns, "namespace", "RAMPART_NAMESPACE", envOr("default", "POD_NAMESPACE"), "this pod's namespace (or $POD_NAMESPACE)")
	str(&c.sa, "service-account", "RAMPART_SERVICE_ACCOUNT", envOr("default", "SERVICE_ACCOUNT"), "this pod's service account (or $SERVICE_ACCOUNT)")
	str(&c.slashes, "slashes", "RAMPART_SLASHES", "reject", "%2F, %5C and \\ in paths: reject|keep|decode")
	c.out.register(fs, pod)
	c.disc.register(fs)
	c.pod.register(fs)
	c.limits.register(fs)
	c.egress.register(fs)
	if err := fs.Parse(args); err != nil {
		return sidecar.Options{}, nil, err
	}
	if fs.NArg() > 0 {
		return sidecar.Options{}, nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o, closeLog, err := c.options()
	o.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: c.level}))
	return o, closeLog, err
}

func (c *config) options() (sidecar.Options, func(), error) {
	var o sidecar.Options
	noop := func() {}
	o.Policy.Bundle, o.Policy.Decision, o.Policy.ShadowBundle = c.bundle, c.decision, c.shadowBundle
	body, err := strconv.Atoi(c.requestBody)
	if err != nil || body < 0 {
		return o, noop, fmt.Errorf("--request-body %q: want a number of bytes (0: off)", c.requestBody)
	}
	o.Policy.RequestBodyBytes = body
	if c.bundleURL != "" {
		if !strings.HasPrefix(c.bundleURL, "http://") && !strings.HasPrefix(c.bundleURL, "https://") {
			return o, noop, fmt.Errorf("--bundle-url %q: want an http(s) URL", c.bundleURL)
		}
		o.Policy.Bundle = c.bundleURL
	}
	poll, err := time.ParseDuration(c.poll)
	if err != nil || poll <= 0 {
		return o, noop, fmt.Errorf("--bundle-poll %q: want a positive duration", c.poll)
	}
	o.Policy.PollInterval = poll
	o.Policy.AllowMissing = c.inPod // the injector's bundle ConfigMap is optional
	if c.level, err = c.pod.apply(&o); err != nil {
		return o, noop, err
	}
	reload, err := time.ParseDuration(c.reload)
	if err != nil {
		return o, noop, fmt.Errorf("--bundle-reload: %w", err)
	}
	o.Policy.ReloadInterval = reload
	if reload <= 0 {
		o.Policy.ReloadInterval = -1 // the flag says never; 0 in Options means the default
	}
	o.Identity = sidecar.IdentityOptions{SVIDDir: c.svidDir, CADir: c.caDir, WorkloadAPI: c.workloadAPI,
		TrustDomain: c.trustDomain, Namespace: c.ns, ServiceAccount: c.sa, CAAddr: c.caAddr, CATokenFile: c.caToken}
	if o.Identity.CABundle, err = c.caBundleBytes(); err != nil {
		return o, noop, err
	}
	o.Inbound.PlaintextAddr, o.Inbound.HBONEAddr = c.plaintext, c.hbone
	o.Inbound.Upstream, o.Inbound.WorkloadsFile = c.upstream, c.workloads
	if err := c.out.apply(&o); err != nil {
		return o, noop, err
	}
	if err := c.disc.apply(&o); err != nil {
		return o, noop, err
	}
	if err := c.limits.apply(&o); err != nil {
		return o, noop, err
	}
	if err := c.egress.apply(&o); err != nil {
		return o, noop, err
	}
	if o.Inbound.Mode, err = parseMode(c.mode, c.hbone != ""); err != nil {
		return o, noop, err
	}
	if o.Inbound.PodIPs, err = parseAddrs(c.podIPs); err != nil {
		return o, noop, err
	}
	if len(o.Inbound.PodIPs) == 0 && c.out.podIP != "" { // $POD_IP, validated by out.apply
		o.Inbound.PodIPs, _ = parseAddrs(c.out.podIP)
	}
	if o.Inbound.Labels, err = parseLabels(c.labels); err != nil {
		return o, noop, err
	}
	if o.Inbound.Tuning.HTTP.Slashes, err = sidecar.ParseSlashRule(c.slashes); err != nil {
		return o, noop, err
	}
	switch c.decisionLog {
	case "":
	case "-":
		o.Policy.DecisionLog = os.Stdout
	default:
		f, err := os.OpenFile(c.decisionLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return o, noop, fmt.Errorf("decision log: %w", err)
		}
		o.Policy.DecisionLog = f
		return o, func() { f.Close() }, nil
	}
	return o, noop, nil
}

func parseMode(s string, hbone bool) (inbound.Mode, error) {
	switch strings.ToUpper(s) {
	case "":
		if hbone {
			return inbound.Strict, nil
		}
		return inbound.Permissive, nil
	case "STRICT":
		return inbound.Strict, nil
	case "PERMISSIVE":
		return inbound.Permissive, nil
	}
	return 0, fmt.Errorf("--mode / $RAMPART_MODE %q: want STRICT or PERMISSIVE", s)
}

func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for kv := range strings.SplitSeq(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels: %q is not k=v", kv)
		}
		out[k] = v
	}
	return out, nil
}

func parseAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for a := range strings.SplitSeq(s, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("--pod-ips: %w", err)
		}
		out = append(out, ip)
	}
	return out, nil
}

// caBundle reads --ca-bundle: the PEM itself (as the injector passes it in
// $RAMPART_CA_BUNDLE) or a file holding it. It is required with --ca-addr: the proxy
// trusts the CA's answer only over a connection verified against these roots.
func (c *config) caBundleBytes() ([]byte, error) {
	v := c.caBundle
	switch {
	case c.caAddr == "" || c.svidDir != "" || c.caDir != "": // the cluster CA is not the source
		return nil, nil
	case v == "":
		return nil, errors.New("--ca-addr needs --ca-bundle (the cluster CA's PEM roots)")
	case strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN"):
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("--ca-bundle: %w", err)
	}
	return b, nil
}
