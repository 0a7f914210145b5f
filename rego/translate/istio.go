package translate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The AuthorizationPolicy fields the translator reads (security.istio.io v1 and
// v1beta1); any other field fails the strict decode.
type istioPolicy struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       istioSpec         `json:"spec"`
	Status     json.RawMessage   `json:"status,omitempty"`
}

type istioSpec struct {
	Selector *struct {
		MatchLabels map[string]string `json:"matchLabels,omitempty"`
	} `json:"selector,omitempty"`
	TargetRef  json.RawMessage `json:"targetRef,omitempty"`
	TargetRefs json.RawMessage `json:"targetRefs,omitempty"`
	Action     string          `json:"action,omitempty"`
	Provider   json.RawMessage `json:"provider,omitempty"`
	Rules      []istioRule     `json:"rules,omitempty"`
}

type istioRule struct {
	From []struct {
		Source istioSource `json:"source"`
	} `json:"from,omitempty"`
	To []struct {
		Operation istioOperation `json:"operation"`
	} `json:"to,omitempty"`
	When []istioCondition `json:"when,omitempty"`
}

type istioSource struct {
	Principals           []string `json:"principals,omitempty"`
	NotPrincipals        []string `json:"notPrincipals,omitempty"`
	Namespaces           []string `json:"namespaces,omitempty"`
	NotNamespaces        []string `json:"notNamespaces,omitempty"`
	IPBlocks             []string `json:"ipBlocks,omitempty"`
	NotIPBlocks          []string `json:"notIpBlocks,omitempty"`
	RequestPrincipals    []string `json:"requestPrincipals,omitempty"`
	NotRequestPrincipals []string `json:"notRequestPrincipals,omitempty"`
	RemoteIPBlocks       []string `json:"remoteIpBlocks,omitempty"`
	NotRemoteIPBlocks    []string `json:"notRemoteIpBlocks,omitempty"`
}

type istioOperation struct {
	Hosts      []string `json:"hosts,omitempty"`
	NotHosts   []string `json:"notHosts,omitempty"`
	Ports      []string `json:"ports,omitempty"`
	NotPorts   []string `json:"notPorts,omitempty"`
	Methods    []string `json:"methods,omitempty"`
	NotMethods []string `json:"notMethods,omitempty"`
	Paths      []string `json:"paths,omitempty"`
	NotPaths   []string `json:"notPaths,omitempty"`
}

type istioCondition struct {
	Key       string   `json:"key"`
	Values    []string `json:"values,omitempty"`
	NotValues []string `json:"notValues,omitempty"`
}

// istio translates an AuthorizationPolicy into the Istio layer.
func (t *translator) istio(d document, ref *refusals) {
	var p istioPolicy
	if !d.decode(&p, ref) {
		return
	}
	ns := namespaceOf(p.Metadata.Namespace)
	id := fmt.Sprintf("AuthorizationPolicy %s/%s", ns, p.Metadata.Name)
	s := p.Spec
	ref.unsupported(present(s.TargetRef) || present(s.TargetRefs), "spec.targetRefs", "gateways and services as targets")
	action := s.Action
	if action == "" {
		action = "ALLOW"
	}
	deny := action == "DENY"
	switch action {
	case "ALLOW", "DENY", "AUDIT":
	case "CUSTOM":
		ref.add("spec.action", "CUSTOM not supported: external authorizers")
	default:
		ref.add("spec.action", fmt.Sprintf("%q is not ALLOW, DENY, AUDIT or CUSTOM", action))
	}
	ref.unsupported(present(s.Provider), "spec.provider", "external authorizers")
	applies := t.m.selector(id+" spec.selector", t.istioApplies(s, ns))
	t.m.istio.policies++
	if action == "ALLOW" {
		t.m.istio.allowSelected = append(t.m.istio.allowSelected, rule{origin: id, c: applies})
	}
	for i, r := range s.Rules {
		f := fmt.Sprintf("spec.rules[%d]", i)
		c := and(applies, istioRuleCond(r, f, deny, ref))
		ru := rule{origin: id + " " + f, c: c}
		switch action {
		case "ALLOW":
			t.m.istio.allow = append(t.m.istio.allow, ru)
		case "DENY":
			t.m.istio.deny = append(t.m.istio.deny, ru)
		case "AUDIT":
			t.m.istio.audit = append(t.m.istio.audit, ru)
		}
	}
}

// istioApplies: a policy of the root namespace applies mesh-wide, others to their
// namespace; a selector narrows to workloads with those labels.
func (t *translator) istioApplies(s istioSpec, ns string) cond {
	var cs []cond
	if ns != t.opts.IstioRootNamespace {
		cs = append(cs, leaf(fmt.Sprintf("dst_namespace == %s", quote(ns))))
	}
	if s.Selector != nil {
		keys := make([]string, 0, len(s.Selector.MatchLabels))
		for k := range s.Selector.MatchLabels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			cs = append(cs, leaf(fmt.Sprintf("dst_labels[%s] == %s", quote(k), quote(s.Selector.MatchLabels[k]))))
		}
	}
	return and(cs...)
}

// istioRuleCond: some source, some operation, and every condition. In a DENY
// policy an HTTP-only field also matches a request that is not HTTP (Istio denies
// such TCP traffic rather than ignoring the field).
func istioRuleCond(r istioRule, field string, deny bool, ref *refusals) cond {
	var from, to, when []cond
	for i, f := range r.From {
		from = append(from, istioSourceCond(f.Source, fmt.Sprintf("%s.from[%d].source", field, i), ref))
	}
	for i, o := range r.To {
		to = append(to, istioOperationCond(o.Operation, fmt.Sprintf("%s.to[%d].operation", field, i), deny, ref))
	}
	for i, c := range r.When {
		when = append(when, istioWhen(c, fmt.Sprintf("%s.when[%d]", field, i), deny, ref))
	}
	cs := []cond{and(when...)}
	if len(from) > 0 {
		cs = append(cs, or(from...))
	}
	if len(to) > 0 {
		cs = append(cs, or(to...))
	}
	return and(cs...)
}

func istioSourceCond(s istioSource, field string, ref *refusals) cond {
	ref.unsupported(len(s.RequestPrincipals)+len(s.NotRequestPrincipals) > 0, field+".requestPrincipals", "JWT request authentication")
	ref.unsupported(len(s.RemoteIPBlocks)+len(s.NotRemoteIPBlocks) > 0, field+".remoteIpBlocks", "X-Forwarded-For is not trusted by the sidecar")
	return and(
		istioField(s.Principals, s.NotPrincipals, func(v string) cond { return istioMatch("src_principal", v) }, field+".principals"),
		istioField(s.Namespaces, s.NotNamespaces, func(v string) cond { return istioMatch("src_namespace", v) }, field+".namespaces"),
		istioField(s.IPBlocks, s.NotIPBlocks, func(v string) cond { return nets([]string{v}, "src_ip", field+".ipBlocks", ref) }, field+".ipBlocks"),
	).with(field)
}

func istioOperationCond(o istioOperation, field string, deny bool, ref *refusals) cond {
	httpOnly := func(c cond) cond {
		if deny {
			return or(leaf("not_http"), c)
		}
		return c
	}
	for _, p := range append(append([]string{}, o.Paths...), o.NotPaths...) {
		ref.unsupported(strings.ContainsAny(p, "{}"), field+".paths", fmt.Sprintf("path template %q", p))
	}
	return and(
		httpOnly(istioField(o.Hosts, o.NotHosts, func(v string) cond { return istioMatch("lower(host)", strings.ToLower(v)) }, field+".hosts")),
		istioField(o.Ports, o.NotPorts, func(v string) cond { return istioPort(v, field+".ports", ref) }, field+".ports"),
		httpOnly(istioField(o.Methods, o.NotMethods, func(v string) cond { return istioMatch("method", v) }, field+".methods")),
		httpOnly(istioField(o.Paths, o.NotPaths, func(v string) cond { return istioMatch("url_path", v) }, field+".paths")),
	).with(field)
}

// istioField: some of values matches (when any are given) and none of notValues.
func istioField(values, notValues []string, match func(string) cond, field string) cond {
	var cs []cond
	if len(values) > 0 {
		var vs []cond
		for _, v := range values {
			vs = append(vs, match(v))
		}
		cs = append(cs, or(vs...).with(field))
	}
	if len(notValues) > 0 {
		var vs []cond
		for _, v := range notValues {
			vs = append(vs, match(v))
		}
		cs = append(cs, not(or(vs...)).with("not: "+field))
	}
	return and(cs...)
}

// istioMatch is Istio's string match: exact, "prefix*", "*suffix", or "*" (any
// non-empty value).
func istioMatch(expr, v string) cond {
	switch {
	case v == "*":
		return leaf(fmt.Sprintf("%s != \"\"", expr))
	case strings.HasSuffix(v, "*"):
		return leaf(fmt.Sprintf("startswith(%s, %s)", expr, quote(strings.TrimSuffix(v, "*"))))
	case strings.HasPrefix(v, "*"):
		return leaf(fmt.Sprintf("endswith(%s, %s)", expr, quote(strings.TrimPrefix(v, "*"))))
	}
	return leaf(fmt.Sprintf("%s == %s", expr, quote(v)))
}

func istioPort(v, field string, ref *refusals) cond {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		ref.add(field, fmt.Sprintf("port %q", v))
		return never()
	}
	return leaf(fmt.Sprintf("dst_port == %d", n))
}

// istioWhen translates one condition; its key names the attribute.
func istioWhen(c istioCondition, field string, deny bool, ref *refusals) cond {
	var match func(string) cond
	httpOnly := false
	switch k := c.Key; {
	case strings.HasPrefix(k, "request.headers[") && strings.HasSuffix(k, "]"):
		name := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(k, "request.headers["), "]"))
		match = func(v string) cond { return istioMatch(fmt.Sprintf("headers[%s]", quote(name)), v) }
		httpOnly = true
	case k == "source.principal":
		match = func(v string) cond { return istioMatch("src_principal", v) }
	case k == "source.namespace":
		match = func(v string) cond { return istioMatch("src_namespace", v) }
	case k == "source.ip":
		match = func(v string) cond { return nets([]string{v}, "src_ip", field+".values", ref) }
	case k == "destination.ip":
		match = func(v string) cond { return nets([]string{v}, "dst_ip", field+".values", ref) }
	case k == "destination.port":
		match = func(v string) cond { return istioPort(v, field+".values", ref) }
	default:
		ref.add(field+".key", fmt.Sprintf("%q not supported (request.headers[...], source.principal, source.namespace, source.ip, destination.ip, destination.port)", k))
		return never()
	}
	if len(c.Values) == 0 && len(c.NotValues) == 0 {
		ref.add(field, "values or notValues required")
	}
	m := istioField(c.Values, c.NotValues, match, field)
	if httpOnly && deny {
		m = or(leaf("not_http"), m)
	}
	return m.with(field)
}
