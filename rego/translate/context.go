package translate

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// context records Namespaces (labels, for namespace selectors) and Pods or
// workloads (named container ports), and reports whether d was one of those.
func (d document) context(m *model, refused *[]Refusal) bool {
	ref := &refusals{object: d.String(), list: refused}
	var spec *corev1.PodTemplateSpec
	switch {
	case d.apiVersion == "v1" && d.kind == "Namespace":
		var ns corev1.Namespace
		if err := json.Unmarshal(d.raw, &ns); err != nil {
			ref.add("", fmt.Sprintf("cannot decode: %v", err))
			return true
		}
		m.namespaces[ns.Name] = ns.Labels
		return true
	case d.apiVersion == "v1" && d.kind == "Pod":
		var p corev1.Pod
		if err := json.Unmarshal(d.raw, &p); err != nil {
			ref.add("", fmt.Sprintf("cannot decode: %v", err))
			return true
		}
		spec = &corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}
	case d.group() == "apps" && (d.kind == "Deployment" || d.kind == "StatefulSet" || d.kind == "DaemonSet" || d.kind == "ReplicaSet"):
		// The pod template sits at spec.template in all four.
		var w appsv1.Deployment
		if err := json.Unmarshal(d.raw, &w); err != nil {
			ref.add("", fmt.Sprintf("cannot decode: %v", err))
			return true
		}
		spec = &w.Spec.Template
		spec.Namespace = w.Namespace
	default:
		return false
	}
	ns := spec.Namespace
	if ns == "" {
		ns = "default"
	}
	wl := workload{origin: d.String(), namespace: ns, labels: spec.Labels, ports: map[string]int32{}}
	for _, c := range spec.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name != "" && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
				wl.ports[p.Name] = p.ContainerPort
			}
		}
	}
	m.workloads = append(m.workloads, wl)
	return true
}

// matches evaluates requirements on concrete labels, as the Rego does.
func matches(reqs []requirement, labels map[string]string) bool {
	for _, r := range reqs {
		v, ok := labels[r.key]
		var hit bool
		switch r.op {
		case "=":
			hit = ok && v == r.values[0]
		case "!=":
			hit = !ok || v != r.values[0]
		case "in":
			hit = ok && contains(r.values, v)
		case "notin":
			hit = !ok || !contains(r.values, v)
		case "exists":
			hit = ok
		case "!exists":
			hit = !ok
		default:
			return false // string operators: never used on workloads
		}
		if !hit {
			return false
		}
	}
	return true
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// namedPort resolves a named destination port from the workloads given: every
// workload of namespace ns (any namespace when ns is "") that selected accepts
// must agree on its number.
func (m *model) namedPort(ns string, selected func(labels map[string]string) bool, name, field string, ref *refusals) (int32, bool) {
	var num int32
	var from string
	for _, w := range m.workloads {
		p, ok := w.ports[name]
		if !ok || (ns != "" && w.namespace != ns) || !selected(w.labels) {
			continue
		}
		if from != "" && p != num {
			ref.add(field, fmt.Sprintf("named port %q is %d in %s but %d in %s: not supported (one number per name)", name, num, from, p, w.origin))
			return 0, false
		}
		num, from = p, w.origin
	}
	if from == "" {
		ref.add(field, fmt.Sprintf("named port %q: no Pod or workload given with -f that the policy selects names it", name))
		return 0, false
	}
	return num, true
}

// portCond matches the destination port (or a range up to end, when end > 0).
func portCond(port, end int32) cond {
	if end > 0 && end != port {
		return and(leaf(fmt.Sprintf("dst_port >= %d", port)), leaf(fmt.Sprintf("dst_port <= %d", end)))
	}
	return leaf(fmt.Sprintf("dst_port == %d", port))
}
