// Package outbound is the client side of the Rampart proxy: it takes the app's
// outgoing connections and carries each one to where the app meant to go.
//
// Connections arrive two ways. Captured ones (port 15001) were redirected by the
// eBPF connect4 program or an iptables REDIRECT rule; the original destination comes
// from getsockopt(SO_ORIGINAL_DST), which both capture methods answer. Explicit
// routes are plain local listeners each bound to one destination and the SPIFFE ID
// it must present (VMs, tests, benchmarks).
//
// The destination is looked up in a discovery.Resolver: a service address is
// balanced over its ready endpoints. A meshed endpoint is reached through HBONE: an
// HTTP/2 CONNECT stream with :authority ip:port over SPIFFE mTLS to podIP:15008. One
// TLS connection per destination proxy carries many streams (a new one is opened
// only when the peer's stream limit is reached), and the handshake refuses a peer
// whose SPIFFE ID is not the expected one. Unmeshed destinations are passed through
// as plain TCP and counted, unless Options.Egress says egress is enforced for this
// pod: then the captured connection is handed to it (sidecar/egress), which decides
// by HTTP Host, TLS SNI or address before any byte leaves. A destination proxy that cannot be reached within the
// connect timeout gets its endpoint ejected, and the app's connection is answered
// with 503 when it spoke HTTP/1, or closed otherwise.
//
// One captured destination is never dialled: CheckAddr, the sentinel of the capture
// check. CheckCapture (run by `rampart-proxy check-capture` in the injected
// rampart-check init container) connects to it; only a connect that eBPF capture
// redirected to this proxy can reach it, and the proxy answers a fixed token and
// closes. The pod's app containers start only after that answer.
package outbound
