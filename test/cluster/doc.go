// Package cluster runs a single-node Kubernetes cluster from real parts for the
// tests and for `make cluster`: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd 2.x with containerd-shim-runc-v2 and Debian's runc,
// kubelet, kube-proxy (iptables mode), CoreDNS and Debian's CNI plugins (ptp,
// host-local, loopback, portmap).
//
// Every part runs inside one network namespace of its own (the node), so the
// node's iptables, routes and sysctls are its own and the host gets only one veth
// end (198.19.255.4k+1/30 on the host, +2 in the node, k a per-cluster slot so
// that clusters of parallel test packages coexist). Pods get 198.19.0.0/24 from
// host-local (node podCIDR inside 198.19.0.0/17), Services 198.19.128.0/20. ptp
// rather than bridge: pod -> Service VIP -> pod on one node then needs no
// br_netfilter, a host-wide module setting this package does not want to touch.
//
// CoreDNS runs as a process on the node, bound to the node address, rather than
// as a Deployment: it needs no image of its own, starts with the node instead of
// after scheduling, and kubelet's clusterDNS points at it directly.
//
// Images reach containerd only by pulling: a CNCF distribution registry listens
// on a host loopback port, and the same port on the node's loopback forwards to
// it, so one reference (127.0.0.1:<port>/<name>:<tag>) works for pushes from the
// host and pulls by containerd. The pod sandbox is the rampart-pause image,
// containerd's pinned sandbox image.
//
// Everything lives under one run folder (state, certificates, etcd, containerd
// root and state, kubelet root-dir, pod logs, sockets) named rcl<owner pid>-<n>,
// the same name as the netns, the veth and the cgroup /<name> (kubelet's
// cgroupRoot, in every v1 hierarchy and the unified one; the daemons run in
// /<name>/system of the unified one, entered at clone time). runc, in this
// hybrid layout, puts each container in the unified tree too, at
// /<name>/kubepods/<qos>/pod<uid>/<container id>. Stop
// kills every process through those cgroups, lazily unmounts everything below
// the run folder in reverse order, removes the cgroups, the shim sockets
// containerd keeps in /run/containerd/s, rampart-node's pins of its pods, the
// netns and link, and removes the run folder. The host-wide settings a node
// needs (the kernel settings kubelet sets at start, /sys/fs/bpf as a shared
// mount for rampart-node's Bidirectional volume) are recorded by the first
// cluster and put back by the last. Start and Down sweep what
// a killed owner left behind, read from the run folder's state file.
//
// The node's namespace, host link, cgroups and daemon processes are made with
// redirect/netpod, the one test-pod harness (AddNetNS, AddHostLink,
// MakeCgroupEverywhere and KillCgroupEverywhere, StartCmd with Detach), not an
// Env of it: what stays here is what a node has and a pod does not. A cluster
// outlives the command that made it (`make cluster` returns with it running,
// `make cluster-down` is another process), so its names, slot and owner live
// in a state file on disk rather than in an Env's memory, and its teardown
// (killing through every cgroup hierarchy, containerd's shim sockets, CNI
// cache, mounts, kubelet's log links, host settings) works from that file
// alone; an Env's Close only undoes what the same process made.
package cluster
