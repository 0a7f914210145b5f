// Package kube is the Kubernetes discovery.Resolver: client-go informers on Pods,
// Services and EndpointSlices, trimmed to the fields Rampart reads. A Service
// cluster IP and port resolve to the ready addresses of its EndpointSlices with
// the target port; a pod IP resolves to the pod's namespace, service account,
// labels and whether it runs the rampart-proxy sidecar. It is its own package so
// a proxy that does not use it does not link (or initialise) client-go.
package kube
