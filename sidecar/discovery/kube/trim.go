package kube

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// trim is the informers' transform: it keeps only what Endpoints and Workload
// read, so the cache holds names, labels, service accounts, IPs and ports, not
// whole pod specs and managed fields.
func (k *Resolver) trim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return k.trimPod(o), nil
	case *corev1.Service:
		return &corev1.Service{ObjectMeta: meta(o.ObjectMeta, false), Spec: corev1.ServiceSpec{
			ClusterIPs: o.Spec.ClusterIPs, ClusterIP: o.Spec.ClusterIP, Ports: o.Spec.Ports}}, nil
	case *discoveryv1.EndpointSlice:
		s := *o
		s.ObjectMeta = meta(o.ObjectMeta, true)
		return &s, nil
	}
	return obj, nil // tombstones and anything else pass unchanged
}

func (k *Resolver) trimPod(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{ObjectMeta: meta(p.ObjectMeta, true)}
	out.Spec.ServiceAccountName = p.Spec.ServiceAccountName
	if k.meshed(p) {
		out.Spec.Containers = []corev1.Container{{Name: k.opts.SidecarName}}
	}
	out.Status.Phase = p.Status.Phase
	out.Status.PodIP = p.Status.PodIP
	out.Status.PodIPs = p.Status.PodIPs
	return out
}

func meta(m metav1.ObjectMeta, labels bool) metav1.ObjectMeta {
	out := metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID,
		ResourceVersion: m.ResourceVersion}
	if labels {
		out.Labels = m.Labels
	}
	return out
}

// podIPs indexes running pods by IP; finished pods are left out because their IPs
// are handed to new pods.
func podIPs(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return nil, nil
	}
	var ips []string
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && p.Status.PodIP != "" {
		ips = append(ips, p.Status.PodIP)
	}
	return ips, nil
}

func clusterIPs(obj any) ([]string, error) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	ips := s.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{s.Spec.ClusterIP}
	}
	var out []string
	for _, ip := range ips {
		if ip != "" && ip != corev1.ClusterIPNone { // headless services have no VIP
			out = append(out, ip)
		}
	}
	return out, nil
}

func sliceService(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{s.Namespace + "/" + name}, nil
}
