// Package netpod builds test pods on the real kernel: a network namespace joined to
// a private bridge by a veth pair, its own cgroup v2 folder with app and proxy
// children, and helper processes (the test binary re-executed) started inside them.
// Everything it creates carries a per-run prefix and is removed in t.Cleanup.
package netpod
