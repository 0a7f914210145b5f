package translate

import (
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// networkPolicy translates a Kubernetes NetworkPolicy (ingress) into the network
// layer.
func (t *translator) networkPolicy(d document, ref *refusals) {
	var np networkingv1.NetworkPolicy
	if !d.decode(&np, ref) {
		return
	}
	ns := namespaceOf(np.Namespace)
	id := fmt.Sprintf("NetworkPolicy %s/%s", ns, np.Name)
	ingress := len(np.Spec.PolicyTypes) == 0
	for i, pt := range np.Spec.PolicyTypes {
		switch pt {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			ref.add(fmt.Sprintf("spec.policyTypes[%d]", i), "Egress not supported: the sidecar decides inbound requests only")
		default:
			ref.add(fmt.Sprintf("spec.policyTypes[%d]", i), fmt.Sprintf("%q is not a policy type", pt))
		}
	}
	ref.unsupported(len(np.Spec.Egress) > 0, "spec.egress", "the sidecar decides inbound requests only")
	if !ingress {
		return
	}
	dstReqs := labelSelector(&np.Spec.PodSelector, "spec.podSelector", ref)
	selects := t.m.selector(id+" spec.podSelector", and(
		leaf(fmt.Sprintf("dst_namespace == %s", quote(ns))),
		labelsCond("dst_labels", dstReqs),
	))
	t.m.network.selected = append(t.m.network.selected, rule{origin: id, c: selects})
	selected := func(l map[string]string) bool { return matches(dstReqs, l) }
	for i, in := range np.Spec.Ingress {
		field := fmt.Sprintf("spec.ingress[%d]", i)
		c := and(selects,
			t.npPeers(in.From, ns, field+".from", ref),
			t.npPorts(in.Ports, ns, selected, field+".ports", ref))
		t.m.network.allow = append(t.m.network.allow, rule{origin: id + " " + field, c: c})
	}
}

func namespaceOf(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// npPeers: no peers admit every source, unauthenticated ones included.
func (t *translator) npPeers(peers []networkingv1.NetworkPolicyPeer, ns, field string, ref *refusals) cond {
	if len(peers) == 0 {
		return always()
	}
	var cs []cond
	for i, p := range peers {
		f := fmt.Sprintf("%s[%d]", field, i)
		var c cond
		switch {
		case p.IPBlock != nil:
			ref.unsupported(p.PodSelector != nil || p.NamespaceSelector != nil, f, "ipBlock with a selector")
			c = cidrCond(p.IPBlock.CIDR, p.IPBlock.Except, f+".ipBlock", ref)
		case p.NamespaceSelector != nil:
			c = and(
				leaf("is_string(src_namespace)"),
				labelsCond("src_namespace_labels", labelSelector(p.NamespaceSelector, f+".namespaceSelector", ref)),
				labelsCond("src_labels", labelSelector(p.PodSelector, f+".podSelector", ref)))
		case p.PodSelector != nil:
			c = and(
				leaf(fmt.Sprintf("src_namespace == %s", quote(ns))),
				labelsCond("src_labels", labelSelector(p.PodSelector, f+".podSelector", ref)))
		default:
			ref.add(f, "a peer needs podSelector, namespaceSelector or ipBlock")
			c = never()
		}
		cs = append(cs, c.with(f))
	}
	return or(cs...)
}

// cidrCond matches the source address in cidr and in none of except.
func cidrCond(cidr string, except []string, field string, ref *refusals) cond {
	in, err := parseCIDR(cidr)
	if err != nil {
		ref.add(field+".cidr", err.Error())
		return never()
	}
	cs := []cond{leaf(fmt.Sprintf("net.cidr_contains(%s, src_ip)", quote(in)))}
	for i, e := range except {
		ex, err := parseCIDR(e)
		if err != nil {
			ref.add(fmt.Sprintf("%s.except[%d]", field, i), err.Error())
			continue
		}
		cs = append(cs, not(leaf(fmt.Sprintf("net.cidr_contains(%s, src_ip)", quote(ex)))))
	}
	return and(cs...)
}

// parseCIDR validates a CIDR (a bare address is a /32 or /128) and returns it
// canonical.
func parseCIDR(s string) (string, error) {
	if ip := net.ParseIP(s); ip != nil {
		if ip.To4() != nil {
			return ip.String() + "/32", nil
		}
		return ip.String() + "/128", nil
	}
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a CIDR", s)
	}
	return n.String(), nil
}

// npPorts: no ports admit every port.
func (t *translator) npPorts(ports []networkingv1.NetworkPolicyPort, ns string, selected func(map[string]string) bool, field string, ref *refusals) cond {
	if len(ports) == 0 {
		return always()
	}
	var cs []cond
	for i, p := range ports {
		f := fmt.Sprintf("%s[%d]", field, i)
		if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
			ref.add(f+".protocol", fmt.Sprintf("%s not supported: the sidecar sees TCP only", *p.Protocol))
			continue
		}
		var end int32
		if p.EndPort != nil {
			end = *p.EndPort
		}
		c, ok := t.port(p.Port, end, ns, selected, f+".port", ref)
		if ok {
			cs = append(cs, c.with(f))
		}
	}
	return or(cs...)
}

// port matches one numbered or named port; nil matches every port.
func (t *translator) port(p *intstr.IntOrString, end int32, ns string, selected func(map[string]string) bool, field string, ref *refusals) (cond, bool) {
	switch {
	case p == nil:
		return always(), true
	case p.Type == intstr.Int:
		if p.IntVal < 1 || p.IntVal > 65535 || end < 0 || end > 65535 || (end > 0 && end < p.IntVal) {
			ref.add(field, fmt.Sprintf("port %d (end %d) out of range", p.IntVal, end))
			return never(), false
		}
		return portCond(p.IntVal, end), true
	}
	if end > 0 {
		ref.add(field, "endPort with a named port")
		return never(), false
	}
	num, ok := t.m.namedPort(ns, selected, p.StrVal, field, ref)
	if !ok {
		return never(), false
	}
	return portCond(num, 0).with(fmt.Sprintf("named port %q", p.StrVal)), true
}
