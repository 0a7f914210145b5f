# The OPA-Envoy idiom for "authenticated callers only": it must deny a peer with no
# certificate, whose source.principal is absent from the input.
package rampart.authz

default allow := false

allow if not deny

deny if not input.attributes.source.principal
