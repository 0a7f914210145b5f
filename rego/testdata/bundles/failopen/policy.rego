# The fail-open traps of issue 13: deny rules that test for a field's absence. An
# unauthenticated peer has no principal; a field Rampart does not know is absent.
package rampart.authz

default allow := false

allow if not deny

deny if not input.attributes.source.principal

deny if not input.attributes.request.http.host

deny if input.truncated_body
