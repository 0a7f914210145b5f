# Allow-side changes decided by Rego: GET under /public/ is allowed with the
# request field x-user set (a client's own x-user replaced).
package rampart.authz

default allow := {"allowed": false}

allow := {"allowed": true, "headers": {"x-user": "alice"}} if {
	input.attributes.request.http.method == "GET"
	startswith(input.attributes.request.http.path, "/public/")
}
