// Package rego is Rampart's policy engine: it loads OPA bundles, prepares the decision
// query once per bundle revision, and evaluates it per request against an input shaped
// like the OPA-Envoy plugin's, failing closed. It also writes decision logs and exports
// Prometheus metrics. It depends on OPA only.
package rego
