# Suggested by rampart policy suggest from 63 allowed decisions: 5 flows.
# Every flow observed is allowed by one rule below; everything else is denied.
# 0 denied decisions were seen and not turned into rules. Workloads are matched
# as named in data.json (SPIFFE ID, else stable labels, else address).
package rampart.authz

import data.rampart.suggested.workloads

default allow := false

# default/ops → default/deathstar: GET /v1/ (4 requests).
allow if {
	from("default/ops")
	to("default/deathstar")
	input.attributes.request.http.method == "GET"
	input.parsed_path == ["v1", ""]
}

# default/ops → default/deathstar: GET /v1/plans/{hash} (4 requests).
# Generalized: segment 3 took 4 distinct values (deadbeef00c0fff0, deadbeef00c0fffa, deadbeef00c10004, ...), so any hex string of 16 or more digits is allowed there.
allow if {
	from("default/ops")
	to("default/deathstar")
	input.attributes.request.http.method == "GET"
	path_matches(["v1", "plans", "{hash}"])
}

# default/tiefighter → default/deathstar: GET /v1/landings/{number} (10 requests).
# Generalized: segment 3 took 10 distinct values (1000, 1004, 1008, ...), so any number is allowed there.
allow if {
	from("default/tiefighter")
	to("default/deathstar")
	input.attributes.request.http.method == "GET"
	path_matches(["v1", "landings", "{number}"])
}

# default/tiefighter → default/deathstar: GET /v1/landings/{uuid} (5 requests).
# Generalized: segment 3 took 5 distinct values (6f1c2a01-3b7e-4c1d-9a55-0e8b2f4d0001, 6f1c2a09-3b7e-4c1d-9a55-0e8b2f4d0009, 6f1c2a17-3b7e-4c1d-9a55-0e8b2f4d0017, ...), so any UUID is allowed there.
allow if {
	from("default/tiefighter")
	to("default/deathstar")
	input.attributes.request.http.method == "GET"
	path_matches(["v1", "landings", "{uuid}"])
}

# default/tiefighter → default/deathstar: POST /v1/request-landing (40 requests).
# The query string is not checked (some requests had one).
allow if {
	from("default/tiefighter")
	to("default/deathstar")
	input.attributes.request.http.method == "POST"
	input.parsed_path == ["v1", "request-landing"]
}

from(name) if peer_is(input.attributes.source, workloads[name])

to(name) if peer_is(input.attributes.destination, workloads[name])

peer_is(peer, w) if peer.principal == w.principal

peer_is(peer, w) if {
	count(w.labels) > 0
	every k, v in w.labels { peer.labels[k] == v }
}

peer_is(peer, w) if peer.address.socketAddress.address == w.address

# path_matches compares input.parsed_path with a template whose wildcard
# segments match one segment of their kind.
path_matches(tpl) if {
	count(input.parsed_path) == count(tpl)
	every i, t in tpl { segment_matches(input.parsed_path[i], t) }
}

segment_matches(s, "{number}") if regex.match(`^[0-9]+$`, s)

segment_matches(s, "{uuid}") if regex.match(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`, s)

segment_matches(s, "{hash}") if regex.match(`^[0-9a-fA-F]{16,}$`, s)

segment_matches(s, t) if {
	not t in {"{number}", "{uuid}", "{hash}"}
	s == t
}
