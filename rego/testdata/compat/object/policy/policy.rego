# Object decisions: deny with a status, a body and headers; allow with every field
# OPA-Envoy applies on an allow; and decisions of the wrong type.
package envoy.authz

user := input.attributes.request.http.headers["x-user"]

default allow := {"allowed": false, "http_status": 401, "body": "unauthorized", "headers": {"www-authenticate": "Bearer realm=\"example\""}}

allow := {"allowed": false, "http_status": 429, "body": "slow down", "headers": [{"retry-after": "7"}, {"x-reason": ["spam", "rate"]}]} if {
	user == "spammer"
} else := {
	"allowed": true,
	"headers": {"x-ext-auth-allow": "yes", "x-validated-by": ["opa", "rampart"]},
	"request_headers_to_remove": ["x-debug"],
	"response_headers_to_add": [{"x-decision": "allowed"}],
	"query_parameters_to_set": {"source": "opa", "tag": ["a", "b"]},
	"query_parameters_to_remove": ["token"],
	"dynamic_metadata": {"user": user, "admin": false},
} if {
	user in {"alice", "root"}
	input.parsed_path == ["orders"]
} else := {"allowed": true, "headers": [{"x-admin": ["1", "2"]}], "response_headers_to_add": {"x-admin-seen": ["yes"]}} if {
	user == "root"
	input.parsed_path == ["admin"]
} else := {"allowed": true, "request_headers_to_remove": "x-debug"} if {
	input.parsed_path == ["broken"]
} else := {"allowed": false, "http_status": 299} if {
	input.parsed_path == ["teapot"]
}
