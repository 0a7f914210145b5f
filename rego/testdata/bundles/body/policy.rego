# Reads the body as OPA-Envoy's with_request_body policies do: denies a cut body,
# allows a landing request whose parsed body names a ship of the Empire.
package rampart.authz

default allow := false

allow if {
	not input.truncated_body
	input.parsed_body.ship in {"tiefighter", ["tiefighter"]}
}

allow if input.attributes.request.http.body == "land please"

allow if input.attributes.request.http.raw_body == "/wA="
