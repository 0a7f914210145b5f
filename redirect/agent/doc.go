// Package agent is the logic of rampart-node, the DaemonSet agent: it watches the
// pods of its node, finds each injected pod's cgroup (systemd or cgroupfs kubelet
// layout) and network namespace, attaches capture with package redirect, registers
// the proxy's inbound listener once it listens, and detaches when the pod goes.
// A restarted agent adopts the pods pinned by its predecessor.
package agent
