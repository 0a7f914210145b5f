// Package identity provides SPIFFE identities for Rampart proxies: SPIFFE IDs of the
// form spiffe://<td>/ns/<ns>/sa/<sa>, X.509 SVID sources (the SPIRE Workload API, a
// built-in CA, watched files) and mutual-TLS configurations built on go-spiffe's
// tlsconfig. It depends on go-spiffe only.
package identity
