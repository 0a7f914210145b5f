package rampart.authz

# Each rule reads the input in a way a decision-cache key could get wrong. Two inputs
# these rules tell apart must never share a remembered decision.
default allow := false

# One header's value (the key holds that header only).
allow if input.attributes.request.http.headers["x-ship"] == "tiefighter"

# Two fields side by side: "GET" + "/x" is not "GET/" + "x".
allow if {
	input.attributes.request.http.method == "GET"
	input.attributes.request.http.path == "/x"
}

# A label of a map the policy also reads whole: org=empire is not orge=mpire.
allow if input.attributes.source.labels.org == "empire"

allow if count(input.attributes.source.labels) > 5

# A label present with an empty value is not a missing label.
allow if input.attributes.destination.labels.tier == ""

# An L4 connection (no request at all) is not a request with empty fields.
allow if not input.attributes.request.http.method

# The parsed body depends on the bytes, the content type and whether it was cut.
allow if {
	not input.truncated_body
	input.parsed_body.ship == "tiefighter"
}

# A principal that is absent is not one that is present.
allow if input.attributes.source.principal == "spiffe://cluster.local/ns/default/sa/tiefighter"
