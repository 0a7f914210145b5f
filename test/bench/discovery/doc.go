// Command discovery compares, side by side in one run against a real
// kube-apiserver and etcd, the two ways a proxy learns services, endpoints and
// peer labels (issue 16):
//
//   - kube: every rampart-proxy runs its own informers (--discovery kube), as
//     proxies did before rampart-node served discovery;
//   - node: one rampart-node (the real binary) watches the API for the node and
//     streams each proxy its view over the unix socket (--discovery node). Each
//     proxy runs in its own cgroup laid out as the kubelet lays out a pod's
//     (…/kubepods/besteffort/pod<uid>/proxy), so the agent identifies every
//     caller through the kernel (SO_PEERCRED → pid → cgroup → pod UID) as its
//     own pod.
//
// It creates the cluster (pods with their IPs set through the status
// subresource, Services, EndpointSlices; no kubelet or controllers run), then
// runs the arms in interleaved repetitions (kube, node, kube, node, …): start
// every proxy and wait until all are ready, let them settle, change one pod's
// labels several times, stop everything. For each arm it reports the watches the
// API server holds (apiserver_longrunning_requests{verb="WATCH"}), the API
// server's CPU seconds (from /proc) during start, settle and per label change,
// its RSS and Go heap in use at the end of the settle period, each proxy's RSS,
// the agent's RSS, and how long each label change took to reach the proxies
// (median proxy and the last of them), observed through each proxy's
// rampart_discovery_last_update_timestamp_seconds (set when its view takes in
// an update), so nothing polls a proxy while a change propagates. It ends with
// a projection to a large cluster derived from the measured per-watch,
// per-object and per-proxy costs, labelled as such.
//
// Run it as root (cgroups, and rampart-node's eBPF checks) from the module
// root:
//
//	nice -n 15 go run ./test/bench/discovery
//
// TestDiscoveryScale runs it at small scale (200 pods, 20 proxies) in CI.
package main
