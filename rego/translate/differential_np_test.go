package translate_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestDifferentialNetworkPolicy: every NetworkPolicy of testdata/networkpolicy at
// once, against the Kubernetes documentation's semantics evaluated with
// apimachinery's own label selectors. Destination pods labelled app=api name their
// ports as the Deployment of context.yaml does.
func TestDifferentialNetworkPolicy(t *testing.T) {
	fs := files(t, "networkpolicy")
	var policies []networkingv1.NetworkPolicy
	nsLabels := map[string]map[string]string{}
	for _, o := range objects(t, fs) {
		switch o["kind"] {
		case "NetworkPolicy":
			p := as[networkingv1.NetworkPolicy](t, o)
			if p.Namespace == "" {
				p.Namespace = "default"
			}
			policies = append(policies, p)
		case "Namespace":
			ns := as[corev1.Namespace](t, o)
			nsLabels[ns.Name] = ns.Labels
		}
	}
	u := universe{
		namespaces: []string{"default", "prod", "staging", "secondary", "other"},
		labels: map[string][]string{
			"app": {"web", "api", "bookstore", "db"}, "role": {"api", "frontend", "monitoring", "audit"}, "canary": {"yes"},
		},
		srcIPs:  []string{"203.0.113.7", "198.19.66.12", "10.1.2.3"},
		ports:   []int{80, 5000, 8080, 9000, 9005, 9010, 9011},
		methods: []string{"GET"}, paths: []string{"/"},
	}
	for _, unselected := range []string{"allow", "deny"} {
		t.Run(unselected, func(t *testing.T) {
			differential(t, fs, unselected, u, func(c tcase) bool {
				return npAllows(t, policies, nsLabels, c, unselected == "allow")
			})
		})
	}
}

// npAllows: a pod no ingress policy selects accepts everything; a selected pod
// accepts what some rule of some selecting policy admits.
func npAllows(t *testing.T, policies []networkingv1.NetworkPolicy, nsLabels map[string]map[string]string, c tcase, unselected bool) bool {
	selected := false
	for _, p := range policies {
		if p.Namespace != c.To.NS || !selects(t, &p.Spec.PodSelector, c.To.Labels) {
			continue
		}
		if len(p.Spec.PolicyTypes) > 0 && !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			continue
		}
		selected = true
		for _, rule := range p.Spec.Ingress {
			if npFrom(t, p.Namespace, rule.From, nsLabels, c) && npPorts(rule.Ports, c) {
				return true
			}
		}
	}
	return !selected && unselected
}

func selects(t *testing.T, s *metav1.LabelSelector, l map[string]string) bool {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel.Matches(labels.Set(l))
}

func npFrom(t *testing.T, ns string, peers []networkingv1.NetworkPolicyPeer, nsLabels map[string]map[string]string, c tcase) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if p.IPBlock != nil {
			if inCIDR(c.From.IP, p.IPBlock.CIDR) && !slices.ContainsFunc(p.IPBlock.Except, func(e string) bool { return inCIDR(c.From.IP, e) }) {
				return true
			}
			continue
		}
		if c.From.NS == "" { // not a pod: selectors never match it
			continue
		}
		podOK := p.PodSelector == nil || selects(t, p.PodSelector, c.From.Labels)
		if p.NamespaceSelector == nil {
			if c.From.NS == ns && podOK {
				return true
			}
			continue
		}
		l := map[string]string{"kubernetes.io/metadata.name": c.From.NS}
		for k, v := range nsLabels[c.From.NS] {
			l[k] = v
		}
		if selects(t, p.NamespaceSelector, l) && podOK {
			return true
		}
	}
	return false
}

// npPorts resolves a named port against the destination pod's own containers.
func npPorts(ports []networkingv1.NetworkPolicyPort, c tcase) bool {
	if len(ports) == 0 {
		return true
	}
	named := map[string]int{}
	if c.To.Labels["app"] == "api" {
		named = map[string]int{"metrics": 5000, "http": 8080}
	}
	for _, p := range ports {
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.String:
			if n, ok := named[p.Port.StrVal]; ok && n == c.To.Port {
				return true
			}
		case p.EndPort != nil:
			if c.To.Port >= int(p.Port.IntVal) && c.To.Port <= int(*p.EndPort) {
				return true
			}
		case int(p.Port.IntVal) == c.To.Port:
			return true
		}
	}
	return false
}
