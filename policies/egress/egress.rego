# Egress: which names outside the mesh a workload may reach. Decided by the
# workload's own proxy, per request by Host for plaintext HTTP, by the ClientHello's
# SNI for TLS, by address otherwise. Hosts arrive normalized: lower case, no trailing
# dot, no port, A-labels only.
package rampart.egress

# hosts lists, per value of the source pod's "app" label, the names it may reach.
# "*.example.com" matches subdomains of example.com, never example.com itself.
hosts := {
	"a": ["github.com", "httpbin.org"],
	"b": ["google.com"],
}

# Egress is decided only for the workloads listed above; every other workload keeps
# passing through undecided.
enforced if hosts[input.source.labels.app]

allow := {"allowed": true} if permitted

allow := {"allowed": false, "body": sprintf("Access denied: egress to %s\n", [destination])} if not permitted

permitted if {
	some pattern in hosts[input.source.labels.app]
	host_matches(pattern, input.destination.host)
}

destination := input.destination.host

destination := sprintf("%s:%d", [input.destination.ip, input.destination.port]) if not input.destination.host

# host_matches(pattern, host) compares names case-insensitively, ignoring a trailing
# dot: "github.com" matches only github.com; "*.github.com" matches api.github.com and
# a.b.github.com, but neither github.com nor github.com.evil.example.
host_matches(pattern, host) if normal(pattern) == normal(host)

host_matches(pattern, host) if {
	startswith(pattern, "*.")
	suffix := substring(normal(pattern), 1, -1)
	endswith(normal(host), suffix)
	count(normal(host)) > count(suffix)
}

normal(name) := lower(trim_suffix(name, "."))
