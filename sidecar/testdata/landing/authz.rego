# Lets anyone, authenticated or not, request a landing; everything else is denied.
package rampart.authz

default allow := false

allow if {
	input.attributes.request.http.method == "POST"
	input.parsed_path == ["v1", "request-landing"]
}
