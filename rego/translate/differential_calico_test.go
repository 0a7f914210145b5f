package translate_test

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Minimal Calico policy shapes for the reference, from Calico's policy docs.
type calicoPol struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Order    *float64 `json:"order"`
		Selector string   `json:"selector"`
		Ingress  []struct {
			Action string `json:"action"`
			Source struct {
				Nets              []string `json:"nets"`
				NotNets           []string `json:"notNets"`
				Selector          string   `json:"selector"`
				NamespaceSelector string   `json:"namespaceSelector"`
				ServiceAccounts   *struct {
					Names []string `json:"names"`
				} `json:"serviceAccounts"`
			} `json:"source"`
			Destination struct {
				Ports []any `json:"ports"`
			} `json:"destination"`
			HTTP *struct {
				Methods []string `json:"methods"`
				Paths   []struct {
					Exact  string `json:"exact"`
					Prefix string `json:"prefix"`
				} `json:"paths"`
			} `json:"http"`
		} `json:"ingress"`
	} `json:"spec"`
}

// calicoSelectors are the selectors testdata/calico uses, written as Go.
var calicoSelectors = map[string]func(map[string]string) bool{
	"":                            func(map[string]string) bool { return true },
	"all()":                       func(map[string]string) bool { return true },
	"app == 'db' || app == 'api'": func(l map[string]string) bool { return l["app"] == "db" || l["app"] == "api" },
	"app == 'db'":                 func(l map[string]string) bool { return l["app"] == "db" },
	"app == 'api'":                func(l map[string]string) bool { return l["app"] == "api" },
	"quarantine == 'true'":        func(l map[string]string) bool { return l["quarantine"] == "true" },
	"env == 'dev'":                func(l map[string]string) bool { return l["env"] == "dev" },
	"role in {'frontend', 'batch'} && !has(canary)": func(l map[string]string) bool {
		_, canary := l["canary"]
		return (l["role"] == "frontend" || l["role"] == "batch") && !canary
	},
}

// TestDifferentialCalico: testdata/calico's ordered policies against Calico's
// evaluation: applicable policies by order then name, rules in order, Log goes on,
// Allow/Deny decide, Pass leaves the tier for the profile, and a selected endpoint
// that nothing matched is denied.
func TestDifferentialCalico(t *testing.T) {
	fs := files(t, "calico")
	var policies []calicoPol
	nsLabels := map[string]map[string]string{}
	for _, o := range objects(t, fs) {
		switch o["kind"] {
		case "Namespace":
			md := o["metadata"].(map[string]any)
			nsLabels[md["name"].(string)] = as[map[string]string](t, md["labels"])
		default:
			policies = append(policies, as[calicoPol](t, o))
		}
	}
	sort.SliceStable(policies, func(i, j int) bool {
		a, b := policies[i].Spec.Order, policies[j].Spec.Order
		if (a == nil) != (b == nil) {
			return a != nil
		}
		if a != nil && *a != *b {
			return *a < *b
		}
		return policies[i].Metadata.Name < policies[j].Metadata.Name
	})
	u := universe{
		namespaces: []string{"prod", "dev", "staging"},
		labels:     map[string][]string{"role": {"frontend", "batch", "x"}, "canary": {"1"}, "quarantine": {"true"}},
		sas:        []string{"default", "reporting"},
		srcIPs:     []string{"198.19.4.4", "203.0.113.5", "203.0.113.200", "10.0.0.1"},
		ports:      []int{80, 5432, 7000, 7010, 7011},
		methods:    []string{"GET", "POST"},
		paths:      []string{"/reports/q1", "/health", "/health?x=1", "/healthz", "/"},
		dsts: []peer{
			{NS: "prod", Labels: map[string]string{"app": "db"}, Port: 5432},
			{NS: "prod", Labels: map[string]string{"app": "api"}},
			{NS: "dev", Labels: map[string]string{"app": "db"}},
			{NS: "prod", Labels: map[string]string{"app": "web"}},
		},
		srcs: []peer{
			{NS: "prod", Labels: map[string]string{"role": "frontend"}},
			{NS: "prod", SA: "reporting"},
			{NS: "dev", Labels: map[string]string{"role": "batch"}},
			{IP: "198.19.4.4"}, {IP: "203.0.113.5"},
		},
	}
	for _, unselected := range []string{"allow", "deny"} {
		t.Run(unselected, func(t *testing.T) {
			differential(t, fs, unselected, u, func(c tcase) bool {
				return calicoAllows(t, policies, nsLabels, c, unselected == "allow")
			})
		})
	}
}

func calicoSel(t *testing.T, s string) func(map[string]string) bool {
	f, ok := calicoSelectors[s]
	if !ok {
		t.Fatalf("selector %q has no reference in calicoSelectors", s)
	}
	return f
}

func calicoAllows(t *testing.T, policies []calicoPol, nsLabels map[string]map[string]string, c tcase, profile bool) bool {
	applied := false
	for _, p := range policies {
		if p.Kind == "NetworkPolicy" && p.Metadata.Namespace != c.To.NS {
			continue
		}
		if !calicoSel(t, p.Spec.Selector)(c.To.Labels) {
			continue
		}
		applied = true
		for _, r := range p.Spec.Ingress {
			if !calicoRuleMatches(t, p, r.Source.Nets, r.Source.NotNets, r.Source.Selector, r.Source.NamespaceSelector, r.Source.ServiceAccounts, nsLabels, c) {
				continue
			}
			if !calicoPortsMatch(r.Destination.Ports, c.To.Port) {
				continue
			}
			if h := r.HTTP; h != nil {
				path := strings.SplitN(c.Path, "?", 2)[0]
				if len(h.Methods) > 0 && !slices.Contains(h.Methods, c.Method) {
					continue
				}
				if len(h.Paths) > 0 && !slices.ContainsFunc(h.Paths, func(p struct {
					Exact  string `json:"exact"`
					Prefix string `json:"prefix"`
				}) bool {
					return (p.Exact != "" && p.Exact == path) || (p.Exact == "" && strings.HasPrefix(path, p.Prefix))
				}) {
					continue
				}
			}
			switch r.Action {
			case "Allow":
				return true
			case "Deny":
				return false
			case "Pass":
				return profile
			}
		}
	}
	return !applied && profile
}

func calicoRuleMatches(t *testing.T, p calicoPol, nets, notNets []string, sel, nsSel string, sas *struct {
	Names []string `json:"names"`
}, nsLabels map[string]map[string]string, c tcase) bool {
	if len(nets) > 0 && !slices.ContainsFunc(nets, func(n string) bool { return inCIDR(c.From.IP, n) }) {
		return false
	}
	if slices.ContainsFunc(notNets, func(n string) bool { return inCIDR(c.From.IP, n) }) {
		return false
	}
	inScope := func() bool {
		switch {
		case nsSel != "":
			l := map[string]string{"projectcalico.org/name": c.From.NS}
			for k, v := range nsLabels[c.From.NS] {
				l[k] = v
			}
			return calicoSel(t, nsSel)(l)
		case p.Kind == "NetworkPolicy":
			return c.From.NS == p.Metadata.Namespace
		}
		return true
	}
	if sel != "" || nsSel != "" {
		if c.From.NS == "" || !inScope() || !calicoSel(t, sel)(c.From.Labels) {
			return false
		}
	}
	if sas != nil && (c.From.NS == "" || !inScope() || !slices.Contains(sas.Names, or(c.From.SA, "default"))) {
		return false
	}
	return true
}

func calicoPortsMatch(ports []any, port int) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		switch v := p.(type) {
		case float64:
			if int(v) == port {
				return true
			}
		case string:
			a, b, _ := strings.Cut(v, ":")
			lo, _ := strconv.Atoi(a)
			hi, _ := strconv.Atoi(b)
			if port >= lo && port <= hi {
				return true
			}
		}
	}
	return false
}
