// Package agent is the logic of rampart-node, the DaemonSet agent: it watches the
// pods of its node, finds each injected pod's cgroup (systemd or cgroupfs kubelet
// layout) and network namespace, attaches capture with package redirect, registers
// the proxy's inbound listener once it listens, and detaches when the pod goes.
// A restarted agent adopts the pods pinned by its predecessor.
//
// # Pod sync
//
// Watch is a controller-runtime controller over a cache of this node's pods only
// (field selector spec.nodeName). Pod events queue the pod's UID; a worker
// reconciles the UID: the cached pod with that UID is synced, a UID with no pod is
// detached and unpinned once no process is left in its cgroup (a force-deleted
// pod's containers may outlive its API object). The UIDs adopted from pins are queued once the cache has
// synced, so a pod deleted while no agent ran is detached at start. A sync that
// fails, or finds the pod incomplete (its cgroup, its proxy container's cgroup or
// the proxy's 15006 listener not there yet), is retried for that pod alone with
// exponential backoff (Options.RetryBase up to RetryMax); other pods go on.
// Reconciler's mutex guards its maps only; no attach or detach runs under it.
//
// # Cgroup layouts
//
// Capture attaches to the pod's cgroup v2 folder, found below the visible cgroup2
// mount (Cgroup2Root). Pure cgroup v2 nodes mount it at /sys/fs/cgroup, and the
// kubelet names pods kubepods/<qos>/pod<uid> (cgroupfs driver) or
// kubepods-<qos>-pod<uid>.slice (systemd driver).
//
// Hybrid nodes mount the cgroup v1 controllers under /sys/fs/cgroup and an empty
// cgroup2 hierarchy at /sys/fs/cgroup/unified. The kubelet (cgroupfs driver) creates
// the pod's v1 cgroups; runc (checked with Debian's runc 1.1.5, see
// TestHybridRunc) places each container at the same path in the unified hierarchy
// too, creating the parents: a container with cgroupsPath
// /kubepods/besteffort/pod<uid>/<id> shows "0::/kubepods/besteffort/pod<uid>/<id>"
// in /proc/<pid>/cgroup. So the pod folder exists in the unified tree as soon as
// the pod sandbox runs, holds every container of the pod, and is found exactly as
// in the pure v2 cgroupfs layout. On a real node (kubelet 1.37, containerd 2.2.9,
// runc 1.1.5, test/cluster) the pause process shows
// "0::/<cgroupRoot>/kubepods/burstable/pod<uid>/<sandbox id>" and the kubelet
// removes the pod folder from the unified tree too when the pod goes; bare runc
// removes only a container's own folder. Either way capture is detached by pod UID,
// never by a folder disappearing.
//
// The pod's network namespace is /proc/<pid>/ns/net of the first process found in
// the pod's cgroup: every container of a pod shares the sandbox's namespace, which
// under containerd the pause process holds (hence the DaemonSet's hostPID).
package agent
