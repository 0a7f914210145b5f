# Allows a landing only on a pod labelled app=deathstar: destination.labels must be
# known for anything to pass.
package rampart.authz

default allow := false

allow if {
	input.attributes.destination.labels.app == "deathstar"
	input.attributes.request.http.method == "POST"
	input.parsed_path == ["v1", "request-landing"]
}
