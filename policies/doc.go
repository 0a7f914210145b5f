// Package policies embeds the Rego bundles shipped with Rampart so the CLI, the proxy
// and tests can load them without a file system path:
//
//   - starwars: Cilium's Star Wars demo; only org=empire may POST /v1/request-landing
//     to app=deathstar.
//   - networkpolicy: the six classic Kubernetes NetworkPolicy recipes as Rego, each
//     switched on and parameterized by the bundle's data.
//   - egress: the egress seed scenario; app=a may reach github.com and httpbin.org,
//     app=b only google.com, by name (HTTP Host, TLS SNI), other apps undecided.
//   - lib: small helpers (glob paths, method sets) other policies can import.
//
// Each is an OPA bundle (a .manifest with roots, *.rego, optional data.json) with its
// Rego tests (*_test.rego) beside it; `go test ./policies/` runs every one.
package policies
