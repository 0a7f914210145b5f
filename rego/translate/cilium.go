package translate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The CiliumNetworkPolicy fields the translator reads (cilium.io/v2); any other
// field fails the strict decode and is refused by name.
type ciliumPolicy struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       *ciliumRule       `json:"spec,omitempty"`
	Specs      []ciliumRule      `json:"specs,omitempty"`
	Status     json.RawMessage   `json:"status,omitempty"`
}

type ciliumRule struct {
	EndpointSelector  *metav1.LabelSelector `json:"endpointSelector,omitempty"`
	NodeSelector      json.RawMessage       `json:"nodeSelector,omitempty"`
	Ingress           []ciliumIngress       `json:"ingress,omitempty"`
	IngressDeny       []ciliumIngress       `json:"ingressDeny,omitempty"`
	Egress            json.RawMessage       `json:"egress,omitempty"`
	EgressDeny        json.RawMessage       `json:"egressDeny,omitempty"`
	EnableDefaultDeny json.RawMessage       `json:"enableDefaultDeny,omitempty"`
	Labels            json.RawMessage       `json:"labels,omitempty"` // rule metadata
	Description       string                `json:"description,omitempty"`
}

type ciliumIngress struct {
	FromEndpoints  []metav1.LabelSelector `json:"fromEndpoints,omitempty"`
	FromCIDR       []string               `json:"fromCIDR,omitempty"`
	FromCIDRSet    []ciliumCIDRSet        `json:"fromCIDRSet,omitempty"`
	FromEntities   []string               `json:"fromEntities,omitempty"`
	FromRequires   json.RawMessage        `json:"fromRequires,omitempty"`
	FromGroups     json.RawMessage        `json:"fromGroups,omitempty"`
	FromNodes      json.RawMessage        `json:"fromNodes,omitempty"`
	ICMPs          json.RawMessage        `json:"icmps,omitempty"`
	Authentication json.RawMessage        `json:"authentication,omitempty"`
	ToPorts        []ciliumPortRule       `json:"toPorts,omitempty"`
}

type ciliumCIDRSet struct {
	CIDR         string          `json:"cidr,omitempty"`
	Except       []string        `json:"except,omitempty"`
	CIDRGroupRef json.RawMessage `json:"cidrGroupRef,omitempty"`
}

type ciliumPortRule struct {
	Ports          []ciliumPort    `json:"ports,omitempty"`
	Rules          *ciliumL7       `json:"rules,omitempty"`
	TerminatingTLS json.RawMessage `json:"terminatingTLS,omitempty"`
	OriginatingTLS json.RawMessage `json:"originatingTLS,omitempty"`
	ServerNames    json.RawMessage `json:"serverNames,omitempty"`
	Listener       json.RawMessage `json:"listener,omitempty"`
}

type ciliumPort struct {
	Port     string `json:"port"`
	EndPort  int32  `json:"endPort,omitempty"`
	Protocol string `json:"protocol,omitempty"`
}

type ciliumL7 struct {
	HTTP    []ciliumHTTP    `json:"http,omitempty"`
	Kafka   json.RawMessage `json:"kafka,omitempty"`
	DNS     json.RawMessage `json:"dns,omitempty"`
	L7Proto json.RawMessage `json:"l7proto,omitempty"`
	L7      json.RawMessage `json:"l7,omitempty"`
}

type ciliumHTTP struct {
	Method        string          `json:"method,omitempty"`
	Path          string          `json:"path,omitempty"`
	Host          string          `json:"host,omitempty"`
	Headers       []string        `json:"headers,omitempty"`
	HeaderMatches json.RawMessage `json:"headerMatches,omitempty"`
}

func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// cilium translates a CiliumNetworkPolicy into the network layer: its allow rules
// add up with NetworkPolicies', its deny rules win.
func (t *translator) cilium(d document, ref *refusals) {
	var p ciliumPolicy
	if !d.decode(&p, ref) {
		return
	}
	ns := namespaceOf(p.Metadata.Namespace)
	id := fmt.Sprintf("CiliumNetworkPolicy %s/%s", ns, p.Metadata.Name)
	rules := p.Specs
	field := "specs"
	if p.Spec != nil {
		ref.unsupported(len(p.Specs) > 0, "specs", "spec and specs together")
		rules, field = []ciliumRule{*p.Spec}, "spec"
	}
	for i, r := range rules {
		f := field
		if field == "specs" {
			f = fmt.Sprintf("specs[%d]", i)
		}
		t.ciliumRule(r, ns, id, f, ref)
	}
}

func (t *translator) ciliumRule(r ciliumRule, ns, id, field string, ref *refusals) {
	ref.unsupported(present(r.NodeSelector), field+".nodeSelector", "host policies")
	ref.unsupported(present(r.Egress), field+".egress", "the sidecar decides inbound requests only")
	ref.unsupported(present(r.EgressDeny), field+".egressDeny", "the sidecar decides inbound requests only")
	ref.unsupported(present(r.EnableDefaultDeny), field+".enableDefaultDeny", "a selected endpoint is always default deny here")
	if r.EndpointSelector == nil {
		ref.add(field+".endpointSelector", "required")
		return
	}
	dstReqs := ciliumSelector(r.EndpointSelector, field+".endpointSelector", ref)
	selects := t.m.selector(id+" "+field+".endpointSelector", and(
		leaf(fmt.Sprintf("dst_namespace == %s", quote(ns))),
		labelsCond("dst_labels", dstReqs),
	))
	if len(r.Ingress) == 0 && len(r.IngressDeny) == 0 {
		return // an egress-only rule, refused above
	}
	t.m.network.selected = append(t.m.network.selected, rule{origin: id + " " + field, c: selects})
	selected := func(l map[string]string) bool { return matches(dstReqs, l) }
	for i, in := range r.Ingress {
		f := fmt.Sprintf("%s.ingress[%d]", field, i)
		c := and(selects, t.ciliumIngress(in, ns, selected, f, false, ref))
		t.m.network.allow = append(t.m.network.allow, rule{origin: id + " " + f, c: c})
	}
	for i, in := range r.IngressDeny {
		f := fmt.Sprintf("%s.ingressDeny[%d]", field, i)
		c := and(selects, t.ciliumIngress(in, ns, selected, f, true, ref))
		t.m.network.deny = append(t.m.network.deny, rule{origin: id + " " + f, c: c})
	}
}

// ciliumIngress is one rule: some L3 peer and some port rule. A rule without L3
// peers admits every source on its ports; an empty rule admits nothing (it only
// turns on default deny).
func (t *translator) ciliumIngress(in ciliumIngress, ns string, selected func(map[string]string) bool, field string, deny bool, ref *refusals) cond {
	ref.unsupported(present(in.FromRequires), field+".fromRequires", "requirements across rules")
	ref.unsupported(present(in.FromGroups), field+".fromGroups", "cloud provider groups")
	ref.unsupported(present(in.FromNodes), field+".fromNodes", "nodes are not sidecar peers")
	ref.unsupported(present(in.ICMPs), field+".icmps", "the sidecar sees TCP only")
	ref.unsupported(present(in.Authentication), field+".authentication", "peers are always mTLS-authenticated here")
	var peers []cond
	for i, s := range in.FromEndpoints {
		f := fmt.Sprintf("%s.fromEndpoints[%d]", field, i)
		reqs := ciliumSelector(&s, f, ref)
		if !hasKey(reqs, "io.kubernetes.pod.namespace") {
			reqs = append(reqs, requirement{key: "io.kubernetes.pod.namespace", op: "=", values: []string{ns}})
		}
		peers = append(peers, and(leaf("is_object(cilium_src_labels)"), labelsCond("cilium_src_labels", reqs)).with(f))
	}
	for i, c := range in.FromCIDR {
		f := fmt.Sprintf("%s.fromCIDR[%d]", field, i)
		peers = append(peers, cidrCond(c, nil, f, ref).with(f))
	}
	for i, s := range in.FromCIDRSet {
		f := fmt.Sprintf("%s.fromCIDRSet[%d]", field, i)
		ref.unsupported(present(s.CIDRGroupRef), f+".cidrGroupRef", "CiliumCIDRGroup objects")
		peers = append(peers, cidrCond(s.CIDR, s.Except, f, ref).with(f))
	}
	for i, e := range in.FromEntities {
		f := fmt.Sprintf("%s.fromEntities[%d]", field, i)
		switch e {
		case "all":
			peers = append(peers, always())
		case "cluster":
			// Pods of the cluster: here, peers with a SPIFFE ID of the mesh.
			peers = append(peers, leaf("is_string(src_namespace)").with(f+": cluster"))
		default:
			ref.add(f, fmt.Sprintf("entity %q not supported (all, cluster)", e))
		}
	}
	l3 := or(peers...)
	if len(peers) == 0 {
		if len(in.ToPorts) == 0 {
			return never().with(field + ": an empty rule admits nothing")
		}
		l3 = always()
	}
	return and(l3, t.ciliumPorts(in.ToPorts, ns, selected, field+".toPorts", deny, ref))
}

func hasKey(reqs []requirement, key string) bool {
	for _, r := range reqs {
		if r.key == key {
			return true
		}
	}
	return false
}

// ciliumSelector converts an endpoint selector: the "k8s:" and "any:" sources are
// dropped from keys, other sources ("reserved:", ...) are refused.
func ciliumSelector(s *metav1.LabelSelector, field string, ref *refusals) []requirement {
	reqs := labelSelector(s, field, ref)
	for i := range reqs {
		k := reqs[i].key
		if src, rest, ok := strings.Cut(k, ":"); ok {
			if src != "k8s" && src != "any" {
				ref.add(field, fmt.Sprintf("label source %q of %q not supported (k8s, any)", src, k))
			}
			reqs[i].key = rest
		}
	}
	return reqs
}

func (t *translator) ciliumPorts(rules []ciliumPortRule, ns string, selected func(map[string]string) bool, field string, deny bool, ref *refusals) cond {
	if len(rules) == 0 {
		return always()
	}
	var cs []cond
	for i, pr := range rules {
		f := fmt.Sprintf("%s[%d]", field, i)
		ref.unsupported(present(pr.TerminatingTLS), f+".terminatingTLS", "TLS interception")
		ref.unsupported(present(pr.OriginatingTLS), f+".originatingTLS", "TLS interception")
		ref.unsupported(present(pr.ServerNames), f+".serverNames", "SNI on ingress")
		ref.unsupported(present(pr.Listener), f+".listener", "Envoy listeners")
		var ports []cond
		for j, p := range pr.Ports {
			pf := fmt.Sprintf("%s.ports[%d]", f, j)
			switch strings.ToUpper(p.Protocol) {
			case "TCP", "", "ANY": // the TCP part: UDP is never captured (see doc.go)
			default:
				ref.add(pf+".protocol", fmt.Sprintf("%s not supported: the sidecar sees TCP only", p.Protocol))
			}
			if c, ok := t.ciliumPort(p, ns, selected, pf, ref); ok {
				ports = append(ports, c.with(pf))
			}
		}
		c := or(ports...)
		if len(pr.Ports) == 0 {
			c = always()
		}
		if pr.Rules != nil {
			if deny {
				ref.add(f+".rules", "L7 rules in a deny rule")
			}
			c = and(c, ciliumL7Rules(pr.Rules, f+".rules", ref))
		}
		cs = append(cs, c)
	}
	return or(cs...)
}

func (t *translator) ciliumPort(p ciliumPort, ns string, selected func(map[string]string) bool, field string, ref *refusals) (cond, bool) {
	if p.Port == "" || p.Port == "0" {
		return always(), true
	}
	n, err := strconv.ParseInt(p.Port, 10, 32)
	if err != nil {
		if p.EndPort != 0 {
			ref.add(field, "endPort with a named port")
			return never(), false
		}
		num, ok := t.m.namedPort(ns, selected, p.Port, field+".port", ref)
		return portCond(num, 0).with(fmt.Sprintf("named port %q", p.Port)), ok
	}
	if n < 1 || n > 65535 || p.EndPort < 0 || p.EndPort > 65535 || (p.EndPort > 0 && p.EndPort < int32(n)) {
		ref.add(field, fmt.Sprintf("port %s (end %d) out of range", p.Port, p.EndPort))
		return never(), false
	}
	return portCond(int32(n), p.EndPort), true
}

// ciliumL7Rules: a request must match one of the HTTP rules; every field of a rule
// is an anchored regular expression (headers are exact "Name: value" or presence).
func ciliumL7Rules(r *ciliumL7, field string, ref *refusals) cond {
	ref.unsupported(present(r.Kafka), field+".kafka", "Kafka")
	ref.unsupported(present(r.DNS), field+".dns", "DNS")
	ref.unsupported(present(r.L7Proto) || present(r.L7), field+".l7", "generic L7 parsers")
	if len(r.HTTP) == 0 {
		return always()
	}
	var cs []cond
	for i, h := range r.HTTP {
		f := fmt.Sprintf("%s.http[%d]", field, i)
		ref.unsupported(present(h.HeaderMatches), f+".headerMatches", "secret-backed header matches")
		parts := []cond{
			regexCond("method", h.Method, f+".method", ref),
			regexCond("path", h.Path, f+".path", ref),
			regexCond("host", h.Host, f+".host", ref),
		}
		for j, hd := range h.Headers {
			parts = append(parts, ciliumHeader(hd, fmt.Sprintf("%s.headers[%d]", f, j), ref))
		}
		cs = append(cs, and(parts...).with(f))
	}
	return or(cs...)
}

// regexCond matches the whole of the input field against re ("" matches all).
func regexCond(input, re, field string, ref *refusals) cond {
	if re == "" {
		return always()
	}
	anchored := "^(?:" + re + ")$"
	if _, err := regexp.Compile(anchored); err != nil {
		ref.add(field, fmt.Sprintf("invalid regular expression: %v", err))
		return never()
	}
	return leaf(fmt.Sprintf("regex.match(%s, %s)", quote(anchored), input))
}

func ciliumHeader(h, field string, ref *refusals) cond {
	name, value, hasValue := strings.Cut(h, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		ref.add(field, "empty header name")
		return never()
	}
	if !hasValue {
		return leaf(fmt.Sprintf("%s in object.keys(headers)", quote(name)))
	}
	return leaf(fmt.Sprintf("headers[%s] == %s", quote(name), quote(strings.TrimSpace(value))))
}
