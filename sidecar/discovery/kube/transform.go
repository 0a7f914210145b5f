package kube

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// trimWith adapts a trimming function to a cache.TransformFunc: the informer
// runs it on every listed and watched object before caching it, so the cache
// (and everything reachable from it) holds only the fields Rampart reads.
// Objects already trimmed pass through: client-go may hand the transform
// an object it has seen before (a relist's tombstones).
func trimWith[T any](trim func(*unstructured.Unstructured) T) cache.TransformFunc {
	return func(obj any) (any, error) {
		switch o := obj.(type) {
		case *unstructured.Unstructured:
			return trim(o), nil
		case cache.DeletedFinalStateUnknown:
			if u, ok := o.Obj.(*unstructured.Unstructured); ok {
				o.Obj = trim(u)
			}
			return o, nil
		case T:
			return o, nil
		}
		return nil, fmt.Errorf("kube discovery: unexpected object %T in a watch", obj)
	}
}

func metaOf(u *unstructured.Unstructured) meta {
	return meta{name: u.GetName(), namespace: u.GetNamespace(), rv: u.GetResourceVersion()}
}

// trimPod keeps a pod's workload identity, labels and addresses.
func trimPod(u *unstructured.Unstructured, trustDomain, sidecarName string) *pod {
	o := u.Object
	p := &pod{meta: metaOf(u), created: u.GetCreationTimestamp().UTC().Format(time.RFC3339)}
	p.w = discovery.Workload{Name: p.name, Namespace: p.namespace,
		ServiceAccount: str(o, "spec", "serviceAccountName"), Labels: u.GetLabels()}
	if p.w.ServiceAccount == "" {
		p.w.ServiceAccount = "default"
	}
	for _, c := range append(items(o, "spec", "initContainers"), items(o, "spec", "containers")...) {
		p.w.Meshed = p.w.Meshed || str(c, "name") == sidecarName
	}
	if p.w.Meshed {
		p.w.Identity = discovery.SPIFFEID(trustDomain, p.w.Namespace, p.w.ServiceAccount)
	}
	// A hostNetwork that is not a bool counts as true: it must not lend the
	// node's address to a pod.
	hostNet, _, err := unstructured.NestedBool(o, "spec", "hostNetwork")
	if phase := str(o, "status", "phase"); phase == "Succeeded" || phase == "Failed" || hostNet || err != nil {
		return p
	}
	ips := []string{str(o, "status", "podIP")}
	for _, ip := range items(o, "status", "podIPs") {
		ips = append(ips, str(ip, "ip"))
	}
	p.ips = parseAddrs(ips)
	return p
}

// trimService keeps a service's cluster IPs ("None" for a headless service
// parses as no address) and its TCP ports.
func trimService(u *unstructured.Unstructured) *service {
	o := u.Object
	s := &service{meta: metaOf(u), ports: map[uint16]string{}}
	vips, _, _ := unstructured.NestedStringSlice(o, "spec", "clusterIPs")
	s.vips = parseAddrs(append([]string{str(o, "spec", "clusterIP")}, vips...))
	for _, p := range items(o, "spec", "ports") {
		if port, ok := portOf(p); ok && tcp(p) {
			s.ports[port] = str(p, "name")
		}
	}
	return s
}

// serviceNameLabel is discoveryv1.LabelServiceName.
const serviceNameLabel = "kubernetes.io/service-name"

// trimSlice keeps an EndpointSlice's service, TCP ports and ready addresses.
func trimSlice(u *unstructured.Unstructured) *slice {
	o := u.Object
	s := &slice{meta: metaOf(u), ports: map[string]uint16{}}
	if name := u.GetLabels()[serviceNameLabel]; name != "" {
		s.service = s.namespace + "/" + name
	}
	for _, p := range items(o, "ports") {
		if port, ok := portOf(p); ok && tcp(p) {
			s.ports[str(p, "name")] = port
		}
	}
	for _, e := range items(o, "endpoints") {
		// A missing ready condition means unknown, which the API says to treat
		// as ready; one that is not a bool, not ready.
		ready, found, err := unstructured.NestedBool(e, "conditions", "ready")
		if err == nil && (!found || ready) {
			addrs, _, _ := unstructured.NestedStringSlice(e, "addresses")
			s.ready = append(s.ready, parseAddrs(addrs)...)
		}
	}
	return s
}
