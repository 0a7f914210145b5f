# Reads the JSON body, as with_request_body policies do.
package envoy.authz

default allow := false

allow if {
	not input.truncated_body
	input.parsed_body.amount < 100
}
