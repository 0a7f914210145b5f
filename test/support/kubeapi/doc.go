// Package kubeapi is the one way tests start a real kube-apiserver and etcd
// (controller-runtime's envtest, with the binaries test/tools/kube/build.sh
// builds, found by support.KubeAssets), and it makes sure none outlives its test.
//
// envtest starts both in process groups of their own, so they do not die with the
// test binary: a server that is never stopped keeps running after `go test` ends.
// Start stops its server in t.Cleanup; Shared hands every test of a package one
// server, stopped by Main from TestMain (Shared refuses to run without it). Both
// then check that no process of the server is left (found by its certificate and
// data folders on its command line), kill any that is, and fail: the test
// (Start) or the test binary (Main).
//
// It is a test helper: only _test files and other test helpers may import it
// (test/layout_test.go).
package kubeapi
