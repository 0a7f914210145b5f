// Package injector is Rampart's mutating admission webhook: a pure pod mutation that
// adds the proxy as a native sidecar (Mutate), the admission handler and HTTPS server
// around it (Handler, NewReviewHandler, Serve), the offline injection of manifests
// (InjectYAML, `rampart inject`) and the manifests that install Rampart on a cluster
// (InstallManifests, `rampart install`). It depends on k8s.io and controller-runtime
// only; the contract constants (ports, uid, label, annotations) are defined here.
//
// # The cluster CA
//
// ServeCA (CAOptions) answers POST CASignPath: a PKCS#10 CSR (PEM or DER, at most 16
// KiB) with "Authorization: Bearer <token>". DecodeSignRequest checks the headers,
// the CSR's signature and key; a TokenReview (audience CATokenAudience) must say the
// token is authenticated, for our audience, and of system:serviceaccount:<ns>:<sa>;
// a per-identity token bucket answers floods with 429. The Authority (identity.CA,
// passed in by cmd/rampart-injector) signs spiffe://<td>/ns/<ns>/sa/<sa> for the
// CSR's key and nothing else of the CSR. The answer is JSON: spiffe_id, cert_chain,
// bundle. Refusals are text "<reason>: <message>", counted in
// rampart_ca_requests_total{result} and logged without the token. LoadOrCreateCA
// reads the root from the rampart-ca Secret through the API, creating it once.
//
// # Who gets injected
//
// The MutatingWebhookConfiguration sends pod CREATEs only from namespaces labelled
// rampart.io/injection=enabled, and never pods labelled rampart.io/inject=false.
// Mutate itself skips pods annotated (or labelled) rampart.io/inject: "false",
// hostNetwork pods, and pods already carrying the rampart.io/status annotation or a
// container named rampart-proxy or rampart-check, so a reinvocation never injects twice.
//
// # What is injected
//
// One init container "rampart-proxy" with restartPolicy Always (a native sidecar,
// started and ready before the app), prepended to the pod's init containers. It runs
// as uid/gid 1337, non-root, with a read-only root filesystem, no capabilities, no
// privilege escalation and seccomp RuntimeDefault. Ports: 15008 (rampart-hbone) and
// 15020 (rampart-admin); startup and readiness probes GET :15020/healthz/ready,
// liveness GETs :15020/healthz/live. Volumes: rampart-ca-token (the pod's
// service-account token of audience rampart, 600 s) at /var/run/secrets/rampart, or
// under Identity spire rampart-spire (the SPIRE agent socket directory, SPIFFE CSI
// driver or hostPath) at /run/rampart/spire; rampart-bundle (an
// optional ConfigMap, default "rampart-policy" in the pod's namespace) at
// /etc/rampart/bundle, rampart-tmp (16Mi in-memory emptyDir) at /tmp, and
// rampart-node (hostPath /var/run/rampart/node, read-only: rampart-node's discovery
// socket). The proxy holds no Kubernetes API token.
// A pod annotated rampart.io/shadow-bundle: NAME also gets rampart-shadow-bundle
// (ConfigMap NAME, not optional: the pod waits for it) at /etc/rampart/shadow-bundle.
//
// Then one regular init container "rampart-check" (the proxy image running
// `rampart-proxy check-capture`; uid/gid 1338, so capture applies to it, with the
// proxy's other restrictions and 10m/16Mi requests, 100m/64Mi limits), before the
// pod's own init containers. The kubelet starts it only once the proxy's startup
// probe passed; it connects to 255.255.255.255:15002, which the kernel refuses to
// route (ENETUNREACH, no packet sent), so it succeeds only when rampart-node's
// connect4 program has redirected the connect to the proxy, which answers it.
// Until then (rampart-node down, or not yet attached to the pod) it retries for a
// minute (ten, with --wait 10m, in a restartPolicy Never pod, which a failed init
// container would fail for good) and exits 1; the kubelet restarts it with
// backoff, and the app never starts uncaptured: the pod stays in Init and not
// Ready. This is the role of istio-validation beside Istio's CNI plugin. A pod
// whose exclusion annotations cover that address or port gets no check (it could
// never pass). The check takes milliseconds, but the kubelet notices an init
// container's exit only at its next relist (1 s), so it costs pod start about a
// second, as istio-validation does. The pod is annotated rampart.io/status with a
// JSON Status listing both init containers.
//
// # The proxy's environment (the contract with rampart-proxy)
//
//	POD_NAME, POD_NAMESPACE   downward API metadata.name / metadata.namespace
//	POD_IP                    downward API status.podIP
//	SERVICE_ACCOUNT           downward API spec.serviceAccountName
//	TRUST_DOMAIN              SPIFFE trust domain (default cluster.local); the proxy's ID
//	                          is spiffe://$TRUST_DOMAIN/ns/$POD_NAMESPACE/sa/$SERVICE_ACCOUNT
//	RAMPART_CA_ADDR           cluster CA URL (Identity ca, the default)
//	RAMPART_CA_TOKEN_FILE     /var/run/secrets/rampart/token
//	RAMPART_CA_BUNDLE         the CA's PEM roots (set by the webhook)
//	SPIFFE_ENDPOINT_SOCKET    Workload API address (Identity spire), go-spiffe form:
//	                          unix:///run/rampart/spire/spire-agent.sock
//	RAMPART_MODE              STRICT (plaintext inbound refused) or PERMISSIVE
//	RAMPART_LOG_LEVEL         debug, info, warn or error
//	RAMPART_BUNDLE            policy bundle: a file path (/etc/rampart/bundle/bundle.tar.gz;
//	                          may be absent: then no policy, deny all) or an http(s) URL
//	RAMPART_SHADOW_BUNDLE     /etc/rampart/shadow-bundle/<bundle key>, only under
//	                          rampart.io/shadow-bundle: decided beside the bundle, never enforced
//	RAMPART_EXCLUDE_INBOUND_PORTS   comma-separated ports, e.g. "8081,9090" (only when set)
//	RAMPART_EXCLUDE_OUTBOUND_PORTS  comma-separated ports (only when set)
//	RAMPART_EXCLUDE_OUTBOUND_CIDRS  comma-separated prefixes, e.g. "10.0.0.0/8,fd00::/8"
//	RAMPART_APP_PROBES        JSON object, only when a probe was rewritten (see below)
//	RAMPART_DISCOVERY         "node": service VIPs, endpoints and peer labels come from
//	                          rampart-node, over RAMPART_DISCOVERY_SOCKET (hostPath
//	                          /var/run/rampart/node, mounted read-only); the proxy
//	                          gets no API token
//	RAMPART_DISCOVERY_SOCKET  /var/run/rampart/node/discovery.sock
//
// # App probe rewriting (RAMPART_APP_PROBES)
//
// Kubelet has no SVID, so under STRICT mode its probes to the app's ports would be
// refused. Every httpGet, tcpSocket and grpc liveness/readiness/startup probe of an
// app container becomes an HTTP GET of :15020/app-health/<container>/<livez|readyz|startupz>
// (the other probe fields stay), and the original handler is passed to the proxy,
// modelled on Istio's ISTIO_KUBE_APP_PROBERS:
//
//	{"/app-health/web/livez":  {"httpGet":{"path":"/healthz","port":8080,"scheme":"HTTP"},"timeoutSeconds":1},
//	 "/app-health/web/readyz": {"tcpSocket":{"port":8080}},
//	 "/app-health/grpc/livez": {"grpc":{"port":9000,"service":"health"}}}
//
// Ports are numbers (named ports resolved), scheme is always set for httpGet, and
// httpGet may carry host and httpHeaders. The proxy answers such a path by running the
// original probe against the app on localhost (from uid 1337, never redirected) and
// returning 200 on success, 500 otherwise; unknown paths are 404. Exec probes are
// untouched. rampart.io/rewrite-app-probes: "false" turns rewriting off for a pod.
// Note for the node agent: the proxy's own ports (15001, 15006, 15008, 15020) must
// never be captured, or kubelet cannot reach 15020.
//
// # Per-pod annotations
//
//	rampart.io/proxy-image, rampart.io/log-level, rampart.io/mode,
//	rampart.io/proxy-cpu, rampart.io/proxy-memory, rampart.io/proxy-cpu-limit,
//	rampart.io/proxy-memory-limit, rampart.io/exclude-inbound-ports,
//	rampart.io/exclude-outbound-ports, rampart.io/exclude-outbound-cidrs,
//	rampart.io/rewrite-app-probes, rampart.io/identity (ca or spire)
//
// An invalid value is an error: the webhook refuses the pod (fail closed) with a
// message naming the annotation.
package injector
