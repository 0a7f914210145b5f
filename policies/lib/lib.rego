# Helpers other Rampart policies import as data.rampart.lib.
package rampart.lib

# Method sets, upper case as the proxy normalizes them.
read_methods := {"GET", "HEAD", "OPTIONS"}

write_methods := {"POST", "PUT", "PATCH", "DELETE"}

# path_matches(pattern, path) is true when path matches the glob pattern, segment by
# segment: "*" matches one path segment (or part of one), "**" any number of segments.
# The query string is ignored.
path_matches(pattern, path) if glob.match(pattern, ["/"], split(path, "?")[0])

# path_matches_any(patterns, path) is true when any pattern matches.
path_matches_any(patterns, path) if {
	some pattern in patterns
	path_matches(pattern, path)
}

# method_in(method, methods) is true when method is one of methods, compared
# case-insensitively (methods in data are often written in lower case).
method_in(method, methods) if upper(method) in {upper(m) | some m in methods}

# read_only(method) is true for methods that must not change state.
read_only(method) if method in read_methods

# route_allowed(routes, method, path) is true when some route {"methods": [...],
# "paths": [...]} lists the method (or "*") and a matching path glob.
route_allowed(routes, method, path) if {
	some route in routes
	method_or_any(method, route.methods)
	path_matches_any(route.paths, path)
}

method_or_any(_, methods) if "*" in methods

method_or_any(method, methods) if method_in(method, methods)
