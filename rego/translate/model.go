package translate

import "fmt"

// model is what the sources translate into before the Rego is written: per layer,
// the policies that select a destination and the rules that match a request, each
// naming its origin.
type model struct {
	network networkLayer
	calico  calicoLayer
	istio   istioLayer
	// namespaces are the labels of the Namespace objects given, for
	// namespaceSelectors (data.rampart.translate.namespaces).
	namespaces map[string]map[string]string
	// workloads are the Pods and pod templates given, for named ports.
	workloads []workload
	// selectors are the policies' "which destination does it apply to" rules,
	// written once and referenced by name from each of their rules.
	selectors []rule
}

// selector names c as a rule of its own (selects_N) and returns a reference to it.
func (m *model) selector(origin string, c cond) cond {
	name := fmt.Sprintf("selects_%d", len(m.selectors)+1)
	m.selectors = append(m.selectors, rule{origin: name, c: c.with(origin)})
	return leaf(name).with(origin)
}

// rule is one generated Rego rule: it holds when c holds.
type rule struct {
	origin string // "NetworkPolicy default/web spec.ingress[0]": the reason it holds
	c      cond
}

// networkLayer is Kubernetes NetworkPolicy and CiliumNetworkPolicy: a selected
// destination admits what some allow rule admits, unless a deny rule matches.
type networkLayer struct {
	selected []rule
	allow    []rule
	deny     []rule
}

func (l networkLayer) empty() bool { return len(l.selected) == 0 && len(l.deny) == 0 }

// calicoLayer is Calico's default tier: rules in policy order, the first with a
// final action (Allow, Deny, Pass) decides.
type calicoLayer struct {
	selected []rule
	rules    []calicoRule
}

type calicoRule struct {
	rule
	action string // Allow, Deny, Pass, Log
	key    calicoKey
}

// calicoKey orders Calico rules: by policy order (a policy without one comes
// last), then policy name, then the rule's index.
type calicoKey struct {
	order    float64
	hasOrder bool
	policy   string
	index    int
}

func (a calicoKey) less(b calicoKey) bool {
	switch {
	case a.hasOrder != b.hasOrder:
		return a.hasOrder
	case a.order != b.order:
		return a.order < b.order
	case a.policy != b.policy:
		return a.policy < b.policy
	}
	return a.index < b.index
}

func (l calicoLayer) empty() bool { return len(l.selected) == 0 }

// istioLayer is Istio's AuthorizationPolicy evaluation: DENY first, then ALLOW when
// any ALLOW policy applies; AUDIT decides nothing.
type istioLayer struct {
	allowSelected []rule
	allow         []rule
	deny          []rule
	audit         []rule
	policies      int
}

func (l istioLayer) empty() bool { return l.policies == 0 }

// workload is a pod (or pod template) given only for its named container ports.
type workload struct {
	origin    string
	namespace string
	labels    map[string]string
	ports     map[string]int32 // container port name → number (TCP)
}
