// Package egress decides a meshed pod's connections to destinations outside the
// mesh, in the pod's own proxy, before any byte of them leaves.
//
// The first bytes choose how: a TLS handshake record is decided by the SNI of its
// ClientHello (read with tlshello, never terminated, then forwarded unchanged);
// an HTTP/1 request line starts a per-request loop decided by each request's Host
// (method and path in the input too); the HTTP/2 preface (h2c with prior
// knowledge) makes the proxy the app's HTTP/2 server, deciding each stream by its
// :authority as Host is (a Host header disagreeing with it, or CONNECT, is
// refused) and sending allowed ones over its own h2c connection to the original
// destination; anything else, or a client that sends
// nothing within HelloTimeout (server-speaks-first protocols), is decided by
// address and port. The decision is rego's data.rampart.egress.allow.
//
// No spoofing: a name never authorizes an address it does not resolve to. The
// proxy keeps the app's original destination and checks it is among the name's
// DNS answers (A and AAAA, asked of the proxy's own resolver) before it decides,
// so SNI github.com or Host: github.com sent to an unrelated address is refused,
// and every request of a kept-alive connection is checked again. Checking instead
// of dialling the name ourselves keeps the connection where the app sent it (the
// app's own resolution, pinning and retries stay valid) and needs no second
// connection when Hosts change on one connection. TLS without SNI, with an
// IP-literal SNI or with Encrypted Client Hello (0xfe0d) carries no name the
// proxy can trust: it is decided with no host, by address only.
//
// Denials are visible: HTTP gets the policy's status and body (403 "Access
// denied" by default) with Connection: close, after the responses to earlier
// requests; TLS gets a fatal access_denied alert before the close. Every outcome
// is one decision-log line (rego) and a count in rampart_egress_decisions_total
// by protocol, result and host (at most MaxHostLabels distinct hosts; more are
// counted as "other", so an app cannot grow the metric without bound).
//
// Egress gateway: with Options.Gateway, a connection whose SNI or first Host is
// a routed name is not decided here but carried (the bytes already read first)
// over a tunnel to the gateway, whose guard serves it with ServeGateway: the
// caller's identity as source, the same anti-spoof check, always decided. The
// pod's guard never dials a routed name itself: a routed Host later on a
// connection it opened elsewhere, or on an h2c stream, is refused. With a
// gateway every connection is sniffed; when the policy does not decide this
// pod's egress, unrouted names are still checked against their addresses (a
// name cannot carry a connection to a routed host's address) and otherwise pass.
package egress
