# parsed_body and truncated_body, as with_request_body policies read them: JSON, form
# and multipart bodies, and a guard on cut bodies.
package envoy.authz

default allow := false

allow if {
	input.parsed_path == ["pay"]
	not input.truncated_body
	input.parsed_body.amount < 100
}

allow if {
	input.parsed_path == ["form"]
	input.parsed_body.role == ["viewer"]
}

allow if {
	input.parsed_path == ["upload"]
	input.parsed_body.role == ["viewer"]
	input.parsed_body.meta[0].amount == 5
}

allow if input.attributes.request.http.body == "hello"

allow if input.attributes.request.http.rawBody == "/wAB"

allow if {
	input.parsed_path == ["pay"]
	input.parsed_body == null
	input.truncated_body == false
	input.attributes.request.http.body == ""
}
