// Package e2e holds Rampart's end-to-end tests: the Star Wars scenario of
// test/demo on real network namespaces, cgroups, eBPF capture, SPIFFE mTLS
// and OPA policy, driven from the test binary (which re-executes itself as the
// pods' apps). They need root; under CI=true a missing prerequisite fails them.
//
// Cases live in testdata/. `go test ./test/e2e/` builds rampart and rampart-proxy
// once into a temporary folder (set RAMPART_PROXY to test another proxy binary).
package e2e
