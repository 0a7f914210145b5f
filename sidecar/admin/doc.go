// Package admin is the proxy's admin listener (15020): Prometheus metrics at
// /metrics, readiness at /healthz/ready (ready only once every readiness check,
// such as "SVID loaded" and "policy loaded", passes), liveness at /healthz/live,
// the effective configuration at /debug/config, the latest decisions at
// /debug/decisions (a bounded ring, streamed with ?follow=1; see DecisionRing),
// and /app-health/<container>/<probe> for the app probes the injector rewrote.
//
// Kubelet has no SVID, so under STRICT mode it could not probe the app directly.
// The injector points such probes at this port and passes the originals in
// RAMPART_APP_PROBES (a JSON object keyed by admin path, modelled on Istio's
// ISTIO_KUBE_APP_PROBERS); the server runs each original probe against the app on
// localhost — HTTP GET, TCP connect or gRPC health check — and answers 200 when it
// succeeds and 500 otherwise.
package admin
