// Package node is the proxy's side of rampart-node's discovery service
// (redirect/agent/catalog): a discovery.Resolver fed by one stream from the
// node agent over a unix socket mounted into the pod, instead of cluster-wide
// informers of its own. The agent identifies the proxy by its cgroup and sends
// only the services and peers of the namespaces the pod may see.
//
// The resolver keeps serving its last view when the stream breaks or the
// socket is gone, reconnects with exponential backoff (Options.MinBackoff up to
// MaxBackoff, with jitter), and reports how old its view is ([Resolver.Age]:
// the time since the agent last spoke, heartbeats included) for readiness
// detail and metrics. Each reconnect starts from a full snapshot, which
// replaces the view at once.
//
// The wire types (wire.go) mirror the catalog's; the two packages may not
// import each other, and test/ runs them together.
//
// # Concurrency
//
// One goroutine reads the stream and applies each message to a copy of the
// view, then publishes it with an atomic pointer swap; lookups read the
// current view without a lock.
package node
