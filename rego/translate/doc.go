// Package translate turns existing network and mesh policies into a Rampart bundle:
// a readable Rego module (package rampart.authz, decision data.rampart.authz.allow)
// plus data, every generated rule carrying a comment that names the object and field
// it came from.
//
// Sources: Kubernetes NetworkPolicy, CiliumNetworkPolicy (with L7 rules.http),
// Calico NetworkPolicy and GlobalNetworkPolicy (projectcalico.org/v3) and Istio
// AuthorizationPolicy (security.istio.io). A field the translator cannot express is
// refused by name (a *RefusalError listing every one); nothing is silently dropped.
//
// What a translated rule means in Rampart: the inbound sidecar decides every HTTP
// request (and every non-HTTP connection at L4), so L3/L4 rules are checked per
// request, on ingress only, for TCP only. The source is the authenticated peer: its
// namespace and service account come from its SPIFFE ID, its labels from the proxy's
// pod lookup, its address from the connection; an unauthenticated peer has only an
// address, so only CIDR rules can admit it. Egress rules, UDP and SCTP are refused.
// A non-HTTP connection has no request: rules needing a method, path, host or
// header never admit it (Cilium L7 rules, Istio ALLOW rules), while an Istio DENY
// rule's HTTP-only fields match it, as Istio denies such TCP traffic.
//
// The sources combine as layers: Kubernetes and Cilium policies form one network
// layer (allow lists add up, Cilium deny rules win), Calico policies one ordered
// layer, Istio policies one L7 layer; a request is allowed when every layer present
// allows it. A destination that no policy of a layer selects gets the bundle's
// "unselected" default (data.rampart.translate.unselected: "deny", Rampart's zero
// trust, or "allow", what the source systems do).
package translate
