# parsed_path and parsed_query as OPA-Envoy examples use them, plus the identity
# fields whose absence must not be mistaken for a value.
package envoy.authz

default allow := false

allow if {
	input.attributes.request.http.method == "GET"
	input.parsed_path == ["api", "v1", "products"]
	input.attributes.source.principal
}

allow if {
	input.parsed_path[0] == "files"
	input.parsed_query.lang == ["en"]
}

allow if {
	input.parsed_query.lang == ["en us"]
}

allow if {
	some user
	input.parsed_path = ["users", user]
	user == input.attributes.request.http.headers["x-user"]
}

allow if {
	input.parsed_path == ["ships"]
	input.attributes.source.labels.org == "empire"
}

allow if {
	input.parsed_path == ["ships"]
	not input.attributes.source.labels
	input.attributes.source.address.socketAddress.portValue == 41000
}
