# The Star Wars demo (after Cilium's): the deathstar serves HTTP; only ships of the
# Empire may call it, and only to request a landing. Everything else is denied with
# the default 403 "Access denied".
package rampart.authz

default allow := false

allow if {
	input.attributes.destination.labels.app == "deathstar"
	input.attributes.source.labels.org == "empire"
	input.attributes.request.http.method == "POST"
	input.parsed_path == ["v1", "request-landing"]
}
