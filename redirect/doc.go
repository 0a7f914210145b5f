// Package redirect loads and attaches Rampart's eBPF traffic-capture programs
// (cgroup connect4/6, sockops, getsockopt, getpeername, sk_lookup) to a pod's cgroup
// and network namespace. It depends on cilium/ebpf only.
package redirect
