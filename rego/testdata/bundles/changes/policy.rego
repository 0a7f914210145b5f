# Object decisions with every allow-side field OPA-Envoy applies, and deliberately
# wrong types selected by the x-case header.
package rampart.authz

default allow := {"allowed": false, "headers": {"www-authenticate": ["Bearer", "Basic"]}}

allow := {
	"allowed": true,
	"headers": [{"X-User": "alice"}, {"x-groups": ["a", "b"]}],
	"request_headers_to_remove": ["Authorization"],
	"response_headers_to_add": {"x-served-by": "rampart"},
	"query_parameters_to_set": {"user": "alice", "tag": ["x", "y"]},
	"query_parameters_to_remove": ["token"],
	"dynamic_metadata": {"user": "alice", "level": 3},
} if input.attributes.request.http.headers["x-case"] == "good"

allow := {"allowed": true, "headers": {"x-n": 1}} if input.attributes.request.http.headers["x-case"] == "number-header"

allow := {"allowed": true, "request_headers_to_remove": "authorization"} if input.attributes.request.http.headers["x-case"] == "remove-string"

allow := {"allowed": true, "query_parameters_to_set": ["a"]} if input.attributes.request.http.headers["x-case"] == "query-array"

allow := {"allowed": true, "dynamic_metadata": "x"} if input.attributes.request.http.headers["x-case"] == "metadata-string"

allow := {"allowed": true, "headers": {"x-bad": "a\r\nx-evil: 1"}} if input.attributes.request.http.headers["x-case"] == "crlf"

allow := {"allowed": false, "body": 7} if input.attributes.request.http.headers["x-case"] == "body-number"

allow := {"allowed": false, "http_status": 299} if input.attributes.request.http.headers["x-case"] == "status-unknown"
