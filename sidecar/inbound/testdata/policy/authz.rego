# Test policy for the bypass corpus and the protocol tests: unauthenticated callers
# may land, read under /public/, open the /ws WebSocket, call one gRPC method and read
# /status on host deathstar only. Opaque (L4) connections are allowed only to a
# destination labelled l4=open.
package rampart.authz

default allow := false

http := input.attributes.request.http

allow if {
	http.method == "POST"
	input.parsed_path == ["v1", "request-landing"]
}

allow if {
	http.method == "GET"
	startswith(http.path, "/public/")
}

allow if {
	http.method == "GET"
	input.parsed_path == ["ws"]
	http.headers.upgrade == "websocket"
}

allow if {
	http.method == "POST"
	http.path == "/grpc.health.v1.Health/Check"
}

allow if {
	http.method == "GET"
	http.path == "/status"
	http.host == "deathstar"
}

allow if {
	not input.attributes.request
	input.attributes.destination.labels.l4 == "open"
}

# A policy-made deny: its own status, body and header.
allow := {"allowed": false, "http_status": 429, "body": "slow down", "headers": {"retry-after": "7"}} if {
	http.path == "/v1/throttled"
}
