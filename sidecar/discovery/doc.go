// Package discovery tells the outbound proxy where a destination address really
// leads and tells the inbound proxy who a peer address is.
//
// A [Resolver] maps a service address (VIP:port) to its ready endpoints — pod IP,
// target port, expected SPIFFE ID, labels, and whether the pod runs a Rampart sidecar
// (then traffic goes through HBONE on podIP:15008) — and maps a pod IP to its
// workload metadata. Three resolvers exist: [File], a JSON registry for the demo and
// for non-Kubernetes use, reloaded by polling and keeping the last good version; the
// node subpackage, the default of injected proxies, following rampart-node's
// per-pod stream on a unix socket; and the kube subpackage, list-and-watch on Pods,
// Services and EndpointSlices through the API server's REST API, for proxies run
// without rampart-node.
//
// [Balancer] spreads connects over a service's endpoints — [LeastRequests] (power
// of two choices by connections in flight, counted between [Balancer.Acquire] and
// its release; the default of [NewBalancerWith]) or [RoundRobin] — and ejects an
// endpoint that failed for a while. [TrustedLabels] returns a peer's labels only when
// the pod at its address has the namespace and service account its authenticated
// SPIFFE ID names, so policy never sees labels a peer could not vouch for.
package discovery
