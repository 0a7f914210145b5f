// Package inbound is the server side of the Rampart proxy, where zero trust happens:
// every request that reaches the application was authorized, exactly as the
// application sees it.
//
// Two listeners feed one connection handler. The HBONE listener (15008) accepts
// HTTP/2 over SPIFFE mTLS; each CONNECT stream is one tunnelled connection to the app
// and the peer's SPIFFE ID is its principal. The plaintext listener (15006) refuses
// connections in STRICT mode and authorizes them as an unauthenticated peer in
// PERMISSIVE mode.
//
// The handler sniffs the first bytes of a connection: HTTP/1.x is parsed strictly by
// sidecar/httpx and every request (each pipelined one) is normalized, authorized and
// forwarded as normalized; h2c (prior knowledge) is served by an HTTP/2 server whose
// every stream is authorized on its own; anything else is authorized once at L4
// (principal, port) and then copied. Upgrades switch to copying only after the app
// answers 101.
//
// The app's HTTP/1.1 answer is read by httpx.ReadResponse under the same framing
// rules as requests (anything that could be framed two ways is a 502) and re-framed
// for the client: only then can one pooled app connection serve many clients without
// one client's response reaching another.
//
// When the Authorizer reports a body policy (BodyPolicy, as *rego.Engine does), the
// first BodyPolicy.MaxBytes of each request body (de-chunked; HTTP/2 alike) are read
// into a pooled buffer before the decision and forwarded byte for byte in front of
// the rest; past httpx.Config.MaxBodyBytes (64 MiB by default) a body is refused
// with 413. An allow decision's changes (headers, request_headers_to_remove,
// query_parameters_to_set/_remove, response_headers_to_add) are applied to what is
// forwarded and answered; one that touches framing, routing or proxy-set fields fails
// closed with 500 (allow.go). An HTTP/2 client in front of an app that does not speak
// h2c is downgraded to HTTP/1.1 on the pooled app connections (downgrade.go).
//
// An allowed request's body is read before the app is involved (bodyfirst*.go):
// up to 16 KiB of it, in a buffer that grows as bytes arrive, within ReadHeader
// (408 past it), so a client sending its body slowly holds no connection to the
// app; past 16 KiB it streams (gRPC streams at once).
//
// No peer can make the proxy hold memory without bound (Limits, limits*.go):
// connections are counted per listener and per peer (source address, or SPIFFE ID
// over HBONE) and refused past their limits or near the Go memory limit, where new
// requests and streams are answered 503; HTTP/2 windows toward clients and toward
// the app are sized to what the proxy will buffer (128 KiB per stream); h2c
// connections have budgets for frames that carry no request (SETTINGS, PING,
// PRIORITY, RST_STREAM, empty frames), past which they get GOAWAY
// ENHANCE_YOUR_CALM and are closed; and a kept-alive HTTP/1 connection waiting for
// its next request holds no read or write buffer (idle.go). On Linux a plaintext
// one silent for 5 ms is parked (park_linux.go): its goroutine returns, one epoll
// goroutine per listener waits for all parked connections and starts a goroutine
// for each that becomes readable, so an idle connection costs about 2.5 KB
// (BenchmarkIdleKeepAlive), not a goroutine stack. A connection whose client
// stopped in the middle of a request head is parked too, its head's start in a
// buffer of its size, and the epoll goroutine reads the rest (parkhead.go).
//
// Lock order: a parker's mu is taken inside the runtime's hold on a socket
// (RawConn.Control) and nothing is locked under it; accept's mu and the peer
// counters are never held together.
package inbound
