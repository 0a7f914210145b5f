# An OPA-Envoy example as it ships: a bare .rego file, no .manifest.
package envoy.authz

default allow := false

allow if {
	input.attributes.request.http.method == "POST"
	input.parsed_path == ["v1", "request-landing"]
	input.attributes.source.labels.org == "empire"
}
