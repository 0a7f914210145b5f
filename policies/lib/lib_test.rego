package rampart.lib.tests

import data.rampart.lib

test_path_single_segment_glob if {
	lib.path_matches("/v1/*", "/v1/request-landing")
	not lib.path_matches("/v1/*", "/v1/request-landing/now")
}

test_path_double_star_glob if {
	lib.path_matches("/api/**", "/api/v1/people/7")
	lib.path_matches("/api/**/people", "/api/v1/people")
	not lib.path_matches("/api/**", "/other/api/x")
}

test_path_partial_segment if {
	lib.path_matches("/files/*.txt", "/files/notes.txt")
	not lib.path_matches("/files/*.txt", "/files/notes.pdf")
}

test_path_ignores_query if lib.path_matches("/v1/*", "/v1/request-landing?bay=3")

test_path_exact if {
	lib.path_matches("/healthz", "/healthz")
	not lib.path_matches("/healthz", "/healthz/x")
}

test_path_matches_any if {
	lib.path_matches_any(["/a/*", "/b/**"], "/b/c/d")
	not lib.path_matches_any(["/a/*", "/b/**"], "/c")
	not lib.path_matches_any([], "/a/b")
}

test_method_in_case_insensitive if {
	lib.method_in("POST", ["post", "put"])
	not lib.method_in("GET", ["post", "put"])
}

test_read_only if {
	lib.read_only("GET")
	lib.read_only("HEAD")
	not lib.read_only("POST")
	not lib.read_only("get") # methods reach policy upper case; lower case is not normalized here
}

test_write_methods if {
	"DELETE" in lib.write_methods
	not "GET" in lib.write_methods
}

routes := [
	{"methods": ["GET"], "paths": ["/people/*"]},
	{"methods": ["*"], "paths": ["/public/**"]},
]

test_route_allowed if {
	lib.route_allowed(routes, "GET", "/people/alice")
	lib.route_allowed(routes, "DELETE", "/public/a/b")
	not lib.route_allowed(routes, "POST", "/people/alice")
	not lib.route_allowed(routes, "GET", "/private/x")
}
