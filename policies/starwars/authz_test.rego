package rampart.authz.starwars_test

import data.rampart.authz

# request builds an OPA-Envoy-shaped input from a source org, a destination app,
# a method and a path.
request(org, app, method, path) := {
	"attributes": {
		"source": {"principal": "spiffe://cluster.local/ns/default/sa/ship", "labels": {"org": org}},
		"destination": {"labels": {"app": app}},
		"request": {"http": {"method": method, "path": path}},
	},
	"parsed_path": split(trim_prefix(split(path, "?")[0], "/"), "/"),
}

test_tiefighter_lands if {
	authz.allow with input as request("empire", "deathstar", "POST", "/v1/request-landing")
}

test_landing_with_query_string if {
	authz.allow with input as request("empire", "deathstar", "POST", "/v1/request-landing?bay=3")
}

test_tiefighter_exhaust_port_denied if {
	not authz.allow with input as request("empire", "deathstar", "PUT", "/v1/exhaust-port")
}

test_xwing_denied if {
	not authz.allow with input as request("alliance", "deathstar", "POST", "/v1/request-landing")
}

test_get_denied if {
	not authz.allow with input as request("empire", "deathstar", "GET", "/v1/request-landing")
}

test_other_destination_denied if {
	not authz.allow with input as request("empire", "tatooine", "POST", "/v1/request-landing")
}

test_unlabelled_source_denied if {
	not authz.allow with input as {
		"attributes": {
			"source": {"labels": {}},
			"destination": {"labels": {"app": "deathstar"}},
			"request": {"http": {"method": "POST", "path": "/v1/request-landing"}},
		},
		"parsed_path": ["v1", "request-landing"],
	}
}

test_empty_input_denied if {
	not authz.allow with input as {}
}
