// Package kube is the Kubernetes discovery.Resolver. It lists and watches Pods,
// Services and EndpointSlices through the API server's REST API (list, then watch
// from the list's resourceVersion with bookmarks; a 410 Gone relists), and decodes
// only the fields Rampart reads. A Service cluster IP and port resolve to the ready
// addresses of its EndpointSlices with the target port; a pod IP resolves to the
// pod's namespace, service account, labels and whether it runs the rampart-proxy
// sidecar.
//
// It deliberately does not use client-go: linking client-go's typed clientset and
// informers adds ~16 MB of idle RSS to every proxy (its package init registers every
// API group), and even its lightest packages (rest, tools/cache, clientcmd) ~3 MB,
// while this watcher adds almost nothing. [InCluster] and [LoadKubeconfig] build a
// [Config] the way client-go would for the common cases (service-account token,
// client certificates, bearer tokens); exec credential plugins are refused.
package kube
