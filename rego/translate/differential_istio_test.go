package translate_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Minimal AuthorizationPolicy shapes for the reference, from Istio's reference docs.
type authzPolicy struct {
	Metadata struct {
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Selector *struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Action string `json:"action"`
		Rules  []struct {
			From []struct {
				Source map[string][]string `json:"source"`
			} `json:"from"`
			To []struct {
				Operation map[string][]string `json:"operation"`
			} `json:"to"`
			When []struct {
				Key       string   `json:"key"`
				Values    []string `json:"values"`
				NotValues []string `json:"notValues"`
			} `json:"when"`
		} `json:"rules"`
	} `json:"spec"`
}

// TestDifferentialIstio: testdata/istio's policies against Istio's documented
// evaluation: a matching DENY denies; with no ALLOW policy for the workload the
// request is allowed; otherwise some ALLOW rule must match. AUDIT decides nothing.
func TestDifferentialIstio(t *testing.T) {
	fs := files(t, "istio")
	var policies []authzPolicy
	for _, o := range objects(t, fs) {
		policies = append(policies, as[authzPolicy](t, o))
	}
	u := universe{
		namespaces: []string{"foo", "bar", "dev", "default"},
		labels:     map[string][]string{"x": {"y"}},
		sas:        []string{"sleep", "other"},
		srcIPs:     []string{"198.18.0.50", "203.0.113.9"},
		ports:      []int{8000, 8001, 80},
		methods:    []string{"GET", "GET", "GET", "POST", "PUT"}, // repeats weigh the draw
		paths:      []string{"/admin", "/admin/users", "/administrator", "/healthz", "/healthz?full=1", "/ip"},
		hosts:      []string{"httpbin.foo.svc.cluster.local", "HTTPBIN.foo.svc.cluster.local", "api.example.com", "evil.test"},
		headers:    map[string][]string{"version": {"v1", "v2"}},
		dsts: []peer{
			{NS: "foo", Labels: map[string]string{"app": "httpbin", "version": "v1"}, Port: 8000},
			{NS: "foo", Labels: map[string]string{"app": "httpbin"}, Port: 8000},
			{NS: "foo", Labels: map[string]string{"app": "httpbin"}, Port: 8000},
			{NS: "foo", Labels: map[string]string{"app": "web"}},
			{NS: "bar", Labels: map[string]string{"app": "httpbin"}},
		},
		srcs: []peer{{NS: "default", SA: "sleep"}, {NS: "default", SA: "sleep"}, {NS: "dev", SA: "other"}, {NS: "foo", SA: "sleep"}, {IP: "198.18.0.50"}},
	}
	for _, unselected := range []string{"allow", "deny"} {
		t.Run(unselected, func(t *testing.T) {
			differential(t, fs, unselected, u, func(c tcase) bool { return istioAllows(policies, c, unselected == "allow") })
		})
	}
}

func istioAllows(policies []authzPolicy, c tcase, noAllowPolicy bool) bool {
	allowPolicies, allowed := false, false
	for _, p := range policies {
		if p.Metadata.Namespace != "istio-system" && p.Metadata.Namespace != c.To.NS {
			continue
		}
		if p.Spec.Selector != nil && !subset(p.Spec.Selector.MatchLabels, c.To.Labels) {
			continue
		}
		matched := false
		for _, r := range p.Spec.Rules {
			ok := len(r.From) == 0 || slices.ContainsFunc(r.From, func(f struct {
				Source map[string][]string `json:"source"`
			}) bool {
				return istioSourceMatches(f.Source, c)
			})
			ok = ok && (len(r.To) == 0 || slices.ContainsFunc(r.To, func(o struct {
				Operation map[string][]string `json:"operation"`
			}) bool {
				return istioOperationMatches(o.Operation, c)
			}))
			for _, w := range r.When {
				ok = ok && istioAttr(w.Values, w.NotValues, istioWhenValue(w.Key, c), strMatch)
			}
			matched = matched || ok
		}
		switch p.Spec.Action {
		case "DENY":
			if matched {
				return false
			}
		case "", "ALLOW":
			allowPolicies = true
			allowed = allowed || matched
		}
	}
	if !allowPolicies {
		return noAllowPolicy
	}
	return allowed
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func principal(c tcase) string {
	if c.From.NS == "" {
		return ""
	}
	return "cluster.local/ns/" + c.From.NS + "/sa/" + or(c.From.SA, "default")
}

func istioSourceMatches(s map[string][]string, c tcase) bool {
	ipMatch := func(cidr, ip string) bool { return inCIDR(ip, cidr) }
	return istioAttr(s["principals"], s["notPrincipals"], principal(c), strMatch) &&
		istioAttr(s["namespaces"], s["notNamespaces"], c.From.NS, strMatch) &&
		istioAttr(s["ipBlocks"], s["notIpBlocks"], c.From.IP, ipMatch)
}

func istioOperationMatches(o map[string][]string, c tcase) bool {
	path := strings.SplitN(c.Path, "?", 2)[0]
	hostMatch := func(pattern, h string) bool { return strMatch(strings.ToLower(pattern), strings.ToLower(h)) }
	return istioAttr(o["hosts"], o["notHosts"], c.Host, hostMatch) &&
		istioAttr(o["ports"], o["notPorts"], strconv.Itoa(c.To.Port), strMatch) &&
		istioAttr(o["methods"], o["notMethods"], c.Method, strMatch) &&
		istioAttr(o["paths"], o["notPaths"], path, strMatch)
}

func istioWhenValue(key string, c tcase) string {
	if h, ok := strings.CutPrefix(key, "request.headers["); ok {
		return c.Headers[strings.ToLower(strings.TrimSuffix(h, "]"))]
	}
	switch key {
	case "source.principal":
		return principal(c)
	case "source.namespace":
		return c.From.NS
	}
	panic("no reference for when key " + key)
}

// istioAttr: some value matches (when values are given) and no notValue does.
func istioAttr(values, notValues []string, v string, match func(pattern, v string) bool) bool {
	m := func(p string) bool { return match(p, v) }
	return (len(values) == 0 || slices.ContainsFunc(values, m)) && !slices.ContainsFunc(notValues, m)
}

// strMatch is Istio's string match; "*" matches any non-empty value, and an absent
// attribute ("") matches no pattern.
func strMatch(pattern, v string) bool {
	switch {
	case v == "":
		return false
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(v, strings.TrimSuffix(pattern, "*"))
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(v, strings.TrimPrefix(pattern, "*"))
	}
	return v == pattern
}
