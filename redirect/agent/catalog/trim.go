package catalog

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// The informers' caches hold trimmed copies: a pod keeps its identity, labels,
// node, addresses and container names, nothing of its spec that could leak
// (env, images, volumes); services and slices keep what routing reads.

func trimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, Labels: m.Labels,
		ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp}
}

func trimPod(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{ObjectMeta: trimMeta(p.ObjectMeta)}
	out.Spec.ServiceAccountName, out.Spec.NodeName, out.Spec.HostNetwork =
		p.Spec.ServiceAccountName, p.Spec.NodeName, p.Spec.HostNetwork
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		out.Spec.Containers = append(out.Spec.Containers, corev1.Container{Name: c.Name})
	}
	out.Status.Phase, out.Status.PodIP, out.Status.PodIPs = p.Status.Phase, p.Status.PodIP, p.Status.PodIPs
	return out
}

func trimService(s *corev1.Service) *corev1.Service {
	out := &corev1.Service{ObjectMeta: trimMeta(s.ObjectMeta)}
	out.Spec.ClusterIP, out.Spec.ClusterIPs, out.Spec.Ports = s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.Ports
	return out
}

func trimSlice(s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	out := &discoveryv1.EndpointSlice{ObjectMeta: trimMeta(s.ObjectMeta), AddressType: s.AddressType, Ports: s.Ports}
	for _, e := range s.Endpoints {
		out.Endpoints = append(out.Endpoints, discoveryv1.Endpoint{Addresses: e.Addresses, Conditions: e.Conditions})
	}
	return out
}

// transform adapts a trim to cache.TransformFunc; tombstones are trimmed too,
// and anything else passes unchanged (already trimmed on a relist).
func transform[T any](trim func(T) T) cache.TransformFunc {
	return func(obj any) (any, error) {
		switch o := obj.(type) {
		case T:
			return trim(o), nil
		case cache.DeletedFinalStateUnknown:
			if t, ok := o.Obj.(T); ok {
				o.Obj = trim(t)
			}
			return o, nil
		}
		return obj, nil
	}
}
