// Package podtest is redirect's test side of package netpod: test pods (netpod's
// namespaces, bridge and cgroups) driven through testing.TB, torn down in
// t.Cleanup, and the helper commands (serve, dial, udp, bench...) that redirect's
// tests run inside them by re-executing the test binary. A missing prerequisite
// (root, a tool) goes through test/support's Need: skipped, failed when CI=true.
// It is a test helper: only tests import it (test/layout_test.go).
package podtest
