package translate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The Calico (Global)NetworkPolicy fields the translator reads
// (projectcalico.org/v3); any other field fails the strict decode.
type calicoPolicy struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       calicoSpec        `json:"spec"`
}

type calicoSpec struct {
	Tier                   string          `json:"tier,omitempty"`
	Order                  *float64        `json:"order,omitempty"`
	Selector               string          `json:"selector,omitempty"`
	NamespaceSelector      string          `json:"namespaceSelector,omitempty"`
	ServiceAccountSelector string          `json:"serviceAccountSelector,omitempty"`
	Types                  []string        `json:"types,omitempty"`
	Ingress                []calicoRuleDoc `json:"ingress,omitempty"`
	Egress                 json.RawMessage `json:"egress,omitempty"`
	DoNotTrack             bool            `json:"doNotTrack,omitempty"`
	PreDNAT                bool            `json:"preDNAT,omitempty"`
	ApplyOnForward         bool            `json:"applyOnForward,omitempty"`
	PerformanceHints       json.RawMessage `json:"performanceHints,omitempty"` // hints only
}

type calicoRuleDoc struct {
	Action      string              `json:"action"`
	Protocol    *intstr.IntOrString `json:"protocol,omitempty"`
	NotProtocol json.RawMessage     `json:"notProtocol,omitempty"`
	IPVersion   json.RawMessage     `json:"ipVersion,omitempty"`
	ICMP        json.RawMessage     `json:"icmp,omitempty"`
	NotICMP     json.RawMessage     `json:"notICMP,omitempty"`
	Source      calicoEntity        `json:"source,omitempty"`
	Destination calicoEntity        `json:"destination,omitempty"`
	HTTP        *calicoHTTP         `json:"http,omitempty"`
	Metadata    json.RawMessage     `json:"metadata,omitempty"` // annotations only
}

type calicoEntity struct {
	Nets              []string             `json:"nets,omitempty"`
	NotNets           []string             `json:"notNets,omitempty"`
	Selector          string               `json:"selector,omitempty"`
	NotSelector       string               `json:"notSelector,omitempty"`
	NamespaceSelector string               `json:"namespaceSelector,omitempty"`
	Ports             []intstr.IntOrString `json:"ports,omitempty"`
	NotPorts          []intstr.IntOrString `json:"notPorts,omitempty"`
	ServiceAccounts   *struct {
		Names    []string `json:"names,omitempty"`
		Selector string   `json:"selector,omitempty"`
	} `json:"serviceAccounts,omitempty"`
	Services json.RawMessage `json:"services,omitempty"`
}

type calicoHTTP struct {
	Methods []string `json:"methods,omitempty"`
	Paths   []struct {
		Exact  string `json:"exact,omitempty"`
		Prefix string `json:"prefix,omitempty"`
	} `json:"paths,omitempty"`
}

// calicoScope is what a policy's rules need to know of it.
type calicoScope struct {
	id        string
	namespace string // "" for a GlobalNetworkPolicy
	selected  func(map[string]string) bool
}

// calico translates a Calico NetworkPolicy or GlobalNetworkPolicy into the Calico
// layer (its rules are ordered with every other Calico policy's in finish).
func (t *translator) calico(d document, ref *refusals) {
	var p calicoPolicy
	if !d.decode(&p, ref) {
		return
	}
	s := p.Spec
	sc := calicoScope{id: "GlobalNetworkPolicy " + p.Metadata.Name}
	if p.Kind == "NetworkPolicy" {
		sc.namespace = namespaceOf(p.Metadata.Namespace)
		sc.id = fmt.Sprintf("Calico NetworkPolicy %s/%s", sc.namespace, p.Metadata.Name)
		ref.unsupported(s.NamespaceSelector != "", "spec.namespaceSelector", "only GlobalNetworkPolicy has one")
	}
	ref.unsupported(s.Tier != "" && s.Tier != "default", "spec.tier", "tiers other than default")
	ref.unsupported(s.ServiceAccountSelector != "", "spec.serviceAccountSelector", "service account labels are unknown to the sidecar")
	ref.unsupported(present(s.Egress), "spec.egress", "the sidecar decides inbound requests only")
	ref.unsupported(s.DoNotTrack || s.PreDNAT || s.ApplyOnForward, "spec.doNotTrack", "host endpoint policies (doNotTrack, preDNAT, applyOnForward)")
	ingress := len(s.Types) == 0
	for i, ty := range s.Types {
		switch ty {
		case "Ingress":
			ingress = true
		case "Egress":
			ref.add(fmt.Sprintf("spec.types[%d]", i), "Egress not supported: the sidecar decides inbound requests only")
		default:
			ref.add(fmt.Sprintf("spec.types[%d]", i), fmt.Sprintf("%q is not a policy type", ty))
		}
	}
	if !ingress {
		return
	}
	selects := t.calicoSelects(s, &sc, ref)
	t.m.calico.selected = append(t.m.calico.selected, rule{origin: sc.id, c: selects})
	key := calicoKey{policy: p.Metadata.Name + "\x00" + sc.namespace} // Calico sorts equal orders by name
	if s.Order != nil {
		key.order, key.hasOrder = *s.Order, true
	}
	for i, r := range s.Ingress {
		f := fmt.Sprintf("spec.ingress[%d]", i)
		switch r.Action {
		case "Allow", "Deny", "Log", "Pass":
		default:
			ref.add(f+".action", fmt.Sprintf("%q is not Allow, Deny, Log or Pass", r.Action))
		}
		key.index = i
		c := and(selects, t.calicoRule(r, sc, f, ref))
		t.m.calico.rules = append(t.m.calico.rules, calicoRule{rule: rule{origin: sc.id + " " + f, c: c}, action: r.Action, key: key})
	}
}

// calicoSelects is the policy's spec.selector (and, for a global policy,
// spec.namespaceSelector) on the destination.
func (t *translator) calicoSelects(s calicoSpec, sc *calicoScope, ref *refusals) cond {
	sel := calicoSelector(s.Selector, "spec.selector", ref)
	nsSel := calicoSelector(s.NamespaceSelector, "spec.namespaceSelector", ref)
	c := and(leaf("is_object(calico_dst_labels)"), sel.cond("calico_dst_labels"))
	if sc.namespace != "" {
		c = and(leaf(fmt.Sprintf("dst_namespace == %s", quote(sc.namespace))), c)
	} else if s.NamespaceSelector != "" {
		c = and(c, nsSel.cond("calico_dst_namespace_labels"))
	}
	sc.selected = func(l map[string]string) bool { return sel.eval(l) }
	return t.m.selector(sc.id+" spec.selector", c)
}

// calicoSelector parses a selector, refusing it by field when it does not parse.
func calicoSelector(s, field string, ref *refusals) *calicoSel {
	sel, err := parseCalicoSelector(s)
	if err != nil {
		ref.add(field, fmt.Sprintf("selector %q: %v", s, err))
		return &calicoSel{op: "not", kids: []*calicoSel{{op: "all"}}}
	}
	return sel
}

func (t *translator) calicoRule(r calicoRuleDoc, sc calicoScope, field string, ref *refusals) cond {
	ref.unsupported(present(r.NotProtocol), field+".notProtocol", "the sidecar sees TCP only")
	ref.unsupported(present(r.IPVersion), field+".ipVersion", "address families")
	ref.unsupported(present(r.ICMP) || present(r.NotICMP), field+".icmp", "the sidecar sees TCP only")
	if r.Protocol != nil && !(r.Protocol.String() == "TCP" || r.Protocol.String() == "6") {
		ref.add(field+".protocol", fmt.Sprintf("%s not supported: the sidecar sees TCP only", r.Protocol.String()))
	}
	return and(
		t.calicoSource(r.Source, sc, field+".source", ref),
		t.calicoDestination(r.Destination, sc, field+".destination", ref),
		calicoHTTPCond(r.HTTP, field+".http"),
	)
}

func (t *translator) calicoSource(e calicoEntity, sc calicoScope, field string, ref *refusals) cond {
	ref.unsupported(len(e.Ports) > 0 || len(e.NotPorts) > 0, field+".ports", "source ports")
	ref.unsupported(present(e.Services), field+".services", "Services as peers")
	cs := []cond{nets(e.Nets, "src_ip", field+".nets", ref), not(nets(e.NotNets, "src_ip", field+".notNets", ref))}
	if len(e.NotNets) == 0 {
		cs = cs[:1]
	}
	// A selector picks endpoints: of the policy's namespace, of the namespaces
	// namespaceSelector picks, or (global policy) of every namespace.
	scope := always()
	switch {
	case e.NamespaceSelector != "":
		ns := calicoSelector(e.NamespaceSelector, field+".namespaceSelector", ref)
		scope = and(leaf("is_object(calico_src_namespace_labels)"), ns.cond("calico_src_namespace_labels"))
	case sc.namespace != "":
		scope = leaf(fmt.Sprintf("src_namespace == %s", quote(sc.namespace)))
	}
	endpoint := leaf("is_object(calico_src_labels)")
	if e.Selector != "" || e.NamespaceSelector != "" {
		sel := calicoSelector(e.Selector, field+".selector", ref)
		cs = append(cs, and(endpoint, scope, sel.cond("calico_src_labels")).with(field+".selector"))
	}
	if e.NotSelector != "" {
		sel := calicoSelector(e.NotSelector, field+".notSelector", ref)
		cs = append(cs, not(and(endpoint, sel.cond("calico_src_labels"))).with(field+".notSelector"))
	}
	if sa := e.ServiceAccounts; sa != nil {
		ref.unsupported(sa.Selector != "", field+".serviceAccounts.selector", "service account labels are unknown to the sidecar")
		cs = append(cs, and(scope, leaf(fmt.Sprintf("src_service_account in %s", quoteSet(sa.Names)))).with(field+".serviceAccounts"))
	}
	return and(cs...)
}

func (t *translator) calicoDestination(e calicoEntity, sc calicoScope, field string, ref *refusals) cond {
	ref.unsupported(e.NamespaceSelector != "", field+".namespaceSelector", "the destination is the selected endpoint")
	ref.unsupported(e.ServiceAccounts != nil, field+".serviceAccounts", "the destination is the selected endpoint")
	ref.unsupported(present(e.Services), field+".services", "Services as peers")
	cs := []cond{nets(e.Nets, "dst_ip", field+".nets", ref)}
	if len(e.NotNets) > 0 {
		cs = append(cs, not(nets(e.NotNets, "dst_ip", field+".notNets", ref)))
	}
	selected := sc.selected
	if e.Selector != "" {
		sel := calicoSelector(e.Selector, field+".selector", ref)
		cs = append(cs, sel.cond("calico_dst_labels").with(field+".selector"))
		selected = func(l map[string]string) bool { return sc.selected(l) && sel.eval(l) }
	}
	if e.NotSelector != "" {
		sel := calicoSelector(e.NotSelector, field+".notSelector", ref)
		cs = append(cs, not(sel.cond("calico_dst_labels")).with(field+".notSelector"))
	}
	if len(e.Ports) > 0 {
		cs = append(cs, t.calicoPorts(e.Ports, sc.namespace, selected, field+".ports", ref))
	}
	if len(e.NotPorts) > 0 {
		cs = append(cs, not(t.calicoPorts(e.NotPorts, sc.namespace, selected, field+".notPorts", ref)))
	}
	return and(cs...)
}

// nets matches the address expression addr in any of cidrs; none matches all.
func nets(cidrs []string, addr, field string, ref *refusals) cond {
	if len(cidrs) == 0 {
		return always()
	}
	cs := make([]cond, 0, len(cidrs))
	for i, c := range cidrs {
		n, err := parseCIDR(c)
		if err != nil {
			ref.add(fmt.Sprintf("%s[%d]", field, i), err.Error())
			continue
		}
		cs = append(cs, leaf(fmt.Sprintf("net.cidr_contains(%s, %s)", quote(n), addr)))
	}
	return or(cs...).with(field)
}

// calicoPorts: numbers, "first:last" ranges and named ports.
func (t *translator) calicoPorts(ports []intstr.IntOrString, ns string, selected func(map[string]string) bool, field string, ref *refusals) cond {
	var cs []cond
	for i, p := range ports {
		f := fmt.Sprintf("%s[%d]", field, i)
		if p.Type == intstr.Int {
			if c, ok := t.port(&p, 0, ns, selected, f, ref); ok {
				cs = append(cs, c)
			}
			continue
		}
		if first, last, ok := strings.Cut(p.StrVal, ":"); ok {
			a, err1 := strconv.ParseInt(first, 10, 32)
			b, err2 := strconv.ParseInt(last, 10, 32)
			if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
				ref.add(f, fmt.Sprintf("port range %q", p.StrVal))
				continue
			}
			cs = append(cs, portCond(int32(a), int32(b)))
			continue
		}
		if n, err := strconv.ParseInt(p.StrVal, 10, 32); err == nil {
			p = intstr.FromInt32(int32(n))
		}
		if c, ok := t.port(&p, 0, ns, selected, f, ref); ok {
			cs = append(cs, c)
		}
	}
	return or(cs...).with(field)
}

// calicoHTTPCond: some method and some path (exact or prefix) of the query-less path.
func calicoHTTPCond(h *calicoHTTP, field string) cond {
	if h == nil {
		return always()
	}
	cs := []cond{}
	if len(h.Methods) > 0 {
		cs = append(cs, leaf(fmt.Sprintf("method in %s", quoteSet(h.Methods))))
	}
	var paths []cond
	for _, p := range h.Paths {
		if p.Exact != "" {
			paths = append(paths, leaf(fmt.Sprintf("url_path == %s", quote(p.Exact))))
		} else {
			paths = append(paths, leaf(fmt.Sprintf("startswith(url_path, %s)", quote(p.Prefix))))
		}
	}
	if len(paths) > 0 {
		cs = append(cs, or(paths...))
	}
	return and(cs...).with(field)
}
