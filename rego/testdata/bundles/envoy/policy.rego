# An OPA-Envoy policy as its documentation writes them (package envoy.authz, decision
# envoy.authz.allow, JWT-free variant of the "example-app" policy), unchanged: it reads
# the socket address, the principal, the headers and parsed_path the way Envoy gives them.
package envoy.authz

default allow := false

allow if {
	input.attributes.request.http.method == "GET"
	input.parsed_path[0] == "people"
	input.attributes.request.http.headers["x-user"] == "alice"
	input.attributes.source.address.socketAddress.address == "198.18.0.2"
	input.attributes.destination.address.socketAddress.portValue == 8080
	startswith(input.attributes.source.principal, "spiffe://cluster.local/")
}
