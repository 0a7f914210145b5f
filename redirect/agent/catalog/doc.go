// Package catalog is rampart-node's discovery service: it watches Pods, Services
// and EndpointSlices of the whole cluster once per node, and streams to each
// local proxy what its policy and routing need: the services of the namespaces
// it may see (service address → ready endpoint addresses) and the peers of
// those namespaces (pod IP → namespace, service account, labels, whether it is
// meshed and its SPIFFE ID). Pod specs never leave the agent: the informers
// trim every object before caching it (trim.go).
//
// # Who is asking
//
// The caller is identified by the kernel, never by what it says: on a
// connection to the unix socket, SO_PEERCRED gives the peer's pid (and
// SO_PEERPIDFD a handle on that very process, checked still alive after its
// cgroup was read, so a recycled pid is refused); /proc/<pid>/cgroup names the
// kubelet's pod cgroup (pod<uid> under kubepods with the cgroupfs driver,
// kubepods-…-pod<uid>.slice with systemd), and the pod with that UID, bound to
// this node, is the caller. Anyone else gets 403. A pod sees its own
// namespace, plus Options.Namespaces (all of them with "*").
//
// # Stream
//
// GET /v1/watch (HTTP/1.1 on the unix socket) answers application/x-ndjson:
// one [Message] per line. The first is a full snapshot, the next ones are
// changes (upserts and removals by key), each with the store's version after
// it; a line with no change is a heartbeat, sent after Options.Heartbeat of
// silence, from which the proxy dates its view. JSON lines over HTTP rather
// than gRPC: the module has no protobuf toolchain, the messages are few and
// small, and curl can read the stream.
//
// # Bounds
//
// The store keeps one bounded log of changed keys shared by all subscribers;
// a subscriber behind the log gets a full snapshot again. A subscriber that
// does not take a line within Options.WriteTimeout is dropped (it reconnects
// and starts from a snapshot). Streams are bounded by Options.MaxSubscribers.
//
// # Concurrency
//
// Informer callbacks only queue keys ("ip:<addr>", "svc:<ns>/<name>"); one
// worker recomputes a key's entry from the caches and stores it if it changed.
// store.mu guards the store's maps and log; it is the only lock. Messages are
// built under it from immutable entries and encoded outside it. Each
// subscriber is one goroutine (net/http's), waiting on the store's change
// channel or its heartbeat.
package catalog
