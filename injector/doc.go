// Package injector is Rampart's mutating admission webhook: a pure pod mutation that
// adds the proxy as a native sidecar, the admission handler around it, and the
// manifests that install Rampart on a cluster. It depends on k8s.io and
// controller-runtime only.
package injector
