# Kubernetes NetworkPolicy semantics (ingress) as Rego, so the six classic recipes
# (github.com/ahmetb/kubernetes-network-policy-recipes) are data, not code:
#
#   1 deny all traffic to an app           {"podSelector": {"app": "web"}, "ingress": []}
#   2 limit an app to some callers         {"ingress": [{"from": [{"podSelector": {...}}]}]}
#   3 deny all non-allow-listed traffic    {"podSelector": {}, "ingress": []}
#   4 deny traffic from other namespaces   {"ingress": [{"from": [{"podSelector": {}}]}]}
#   5 allow from namespaces by label       {"ingress": [{"from": [{"namespaceSelector": {...}}]}]}
#   6 allow external (unauthenticated)     {"ingress": [{}]}
#
# Configuration lives at data.rampart.networkpolicy: "policies" (the list above, each
# with a "namespace"), "namespaces" (namespace name -> labels, for namespaceSelector),
# and "default_allow" for destinations no policy selects (Kubernetes allows them;
# Rampart's shipped data denies them: zero trust).
#
# Namespaces come from the SPIFFE IDs spiffe://<td>/ns/<namespace>/sa/<sa>; pod labels
# from the input, which the proxy fills only for authenticated peers.
package rampart.authz

import data.rampart.networkpolicy as config

default allow := false

# A destination selected by no policy gets the configured default.
allow if {
	count(selecting) == 0
	config.default_allow == true
}

# A selected destination admits a source when some rule of some selecting policy does
# (policies are additive allow lists, as in Kubernetes).
allow if {
	some p in selecting
	some rule in p.ingress
	rule_admits(p, rule)
}

selecting contains p if {
	some p in config.policies
	p.namespace == destination_namespace
	labels_match(p.podSelector, destination_labels)
}

# An ingress rule without "from" admits everyone, unauthenticated clients included.
rule_admits(_, rule) if not rule.from

rule_admits(p, rule) if {
	some peer in rule.from
	peer_admits(p, peer)
}

# podSelector alone: pods of the policy's own namespace.
peer_admits(p, peer) if {
	not peer.namespaceSelector
	source_namespace == p.namespace
	labels_match(object.get(peer, "podSelector", {}), source_labels)
}

# namespaceSelector (optionally with podSelector): pods of matching namespaces.
peer_admits(_, peer) if {
	peer.namespaceSelector
	labels_match(peer.namespaceSelector, object.get(config.namespaces, source_namespace, {}))
	labels_match(object.get(peer, "podSelector", {}), source_labels)
}

labels_match(selector, labels) if {
	every key, value in selector {
		labels[key] == value
	}
}

destination_namespace := spiffe_namespace(input.attributes.destination.principal)

source_namespace := spiffe_namespace(input.attributes.source.principal)

destination_labels := object.get(input.attributes.destination, "labels", {})

source_labels := object.get(input.attributes.source, "labels", {})

spiffe_namespace(id) := parts[2] if {
	parts := split(trim_prefix(id, "spiffe://"), "/")
	parts[1] == "ns"
	parts[3] == "sa"
}
