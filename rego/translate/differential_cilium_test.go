package translate_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Minimal CiliumNetworkPolicy shapes for the reference, written from Cilium's
// policy language documentation.
type cnp struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		EndpointSelector metav1.LabelSelector `json:"endpointSelector"`
		Ingress          []cnpRule            `json:"ingress"`
		IngressDeny      []cnpRule            `json:"ingressDeny"`
	} `json:"spec"`
}

type cnpRule struct {
	FromEndpoints []metav1.LabelSelector `json:"fromEndpoints"`
	FromCIDRSet   []struct {
		CIDR   string   `json:"cidr"`
		Except []string `json:"except"`
	} `json:"fromCIDRSet"`
	ToPorts []struct {
		Ports []struct {
			Port string `json:"port"`
		} `json:"ports"`
		Rules *struct {
			HTTP []struct {
				Method, Path string
				Headers      []string
			} `json:"http"`
		} `json:"rules"`
	} `json:"toPorts"`
}

// TestDifferentialCilium: the Star Wars and L7 policies of testdata/cilium at once.
func TestDifferentialCilium(t *testing.T) {
	fs := files(t, "cilium")
	var policies []cnp
	for _, o := range objects(t, fs) {
		policies = append(policies, as[cnp](t, o))
	}
	u := universe{
		namespaces: []string{"default", "shop", "frontend"},
		labels: map[string][]string{
			"org": {"empire", "alliance"}, "class": {"deathstar", "tiefighter"}, "app": {"api", "web"}, "quarantine": {"true"},
		},
		sas:     []string{"default", "checkout"},
		srcIPs:  []string{"198.18.3.4", "198.18.9.9", "203.0.113.1"},
		ports:   []int{80, 8080, 9090},
		methods: []string{"GET", "HEAD", "POST", "PUT"},
		paths:   []string{"/v1/request-landing", "/v1/exhaust-port", "/items/42", "/items/x", "/cart", "/v1/request-landing?x=1"},
		headers: map[string][]string{"x-tenant": {"blue", "red"}, "x-request-id": {"1"}},
		dsts: []peer{
			{NS: "default", Labels: map[string]string{"org": "empire", "class": "deathstar"}, Port: 80},
			{NS: "shop", Labels: map[string]string{"app": "api"}, Port: 8080},
			{NS: "shop", Labels: map[string]string{"app": "web"}},
		},
		srcs: []peer{
			{NS: "default", SA: "tiefighter", Labels: map[string]string{"org": "empire", "class": "tiefighter"}},
			{NS: "default", SA: "xwing", Labels: map[string]string{"org": "alliance"}},
			{NS: "frontend", Labels: map[string]string{"app": "web"}},
			{NS: "shop", SA: "checkout"},
			{IP: "198.18.3.4"}, {IP: "198.18.9.4"},
		},
	}
	differential(t, fs, "allow", u, func(c tcase) bool { return cnpAllows(t, policies, c) })
}

func cnpAllows(t *testing.T, policies []cnp, c tcase) bool {
	selected, allowed := false, false
	for _, p := range policies {
		ns := p.Metadata.Namespace
		if ns == "" {
			ns = "default"
		}
		if c.To.NS != ns || !selects(t, stripSources(p.Spec.EndpointSelector), c.To.Labels) {
			continue
		}
		selected = true
		for _, r := range p.Spec.IngressDeny {
			if cnpRuleMatches(t, ns, r, c) {
				return false // deny rules take precedence
			}
		}
		for _, r := range p.Spec.Ingress {
			allowed = allowed || cnpRuleMatches(t, ns, r, c)
		}
	}
	return allowed || !selected
}

// stripSources drops Cilium's "k8s:" label source prefix.
func stripSources(s metav1.LabelSelector) *metav1.LabelSelector {
	out := metav1.LabelSelector{MatchLabels: map[string]string{}}
	for k, v := range s.MatchLabels {
		out.MatchLabels[strings.TrimPrefix(k, "k8s:")] = v
	}
	for _, e := range s.MatchExpressions {
		e.Key = strings.TrimPrefix(e.Key, "k8s:")
		out.MatchExpressions = append(out.MatchExpressions, e)
	}
	return &out
}

func cnpRuleMatches(t *testing.T, ns string, r cnpRule, c tcase) bool {
	l3 := len(r.FromEndpoints) == 0 && len(r.FromCIDRSet) == 0
	if c.From.NS != "" {
		// An endpoint's identity: its labels plus namespace and service account.
		id := map[string]string{"io.kubernetes.pod.namespace": c.From.NS, "io.cilium.k8s.policy.serviceaccount": or(c.From.SA, "default")}
		for k, v := range c.From.Labels {
			id[k] = v
		}
		for _, s := range r.FromEndpoints {
			sel := stripSources(s)
			if _, ok := sel.MatchLabels["io.kubernetes.pod.namespace"]; !ok {
				sel.MatchLabels["io.kubernetes.pod.namespace"] = ns // namespaced policy
			}
			l3 = l3 || selects(t, sel, id)
		}
	}
	for _, s := range r.FromCIDRSet {
		in := inCIDR(c.From.IP, s.CIDR)
		for _, e := range s.Except {
			in = in && !inCIDR(c.From.IP, e)
		}
		l3 = l3 || in
	}
	if !l3 {
		return false
	}
	if len(r.ToPorts) == 0 {
		return true
	}
	for _, tp := range r.ToPorts {
		portOK := false
		for _, p := range tp.Ports {
			n, _ := strconv.Atoi(p.Port)
			portOK = portOK || n == c.To.Port
		}
		if !portOK {
			continue
		}
		if tp.Rules == nil || len(tp.Rules.HTTP) == 0 {
			return true
		}
		for _, h := range tp.Rules.HTTP {
			if fullMatch(h.Method, c.Method) && fullMatch(h.Path, c.Path) && headersMatch(h.Headers, c.Headers) {
				return true
			}
		}
	}
	return false
}

// fullMatch: Cilium's (Envoy's) regular expressions match the whole value.
func fullMatch(re, s string) bool {
	if re == "" {
		return true
	}
	m := regexp.MustCompile(re).FindString(s)
	return m == s && regexp.MustCompile("^(?:"+re+")$").MatchString(s)
}

func headersMatch(hs []string, have map[string]string) bool {
	for _, h := range hs {
		name, value, withValue := strings.Cut(h, ":")
		v, ok := have[strings.ToLower(strings.TrimSpace(name))]
		if !ok || (withValue && v != strings.TrimSpace(value)) {
			return false
		}
	}
	return true
}
