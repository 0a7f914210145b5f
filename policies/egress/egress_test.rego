package rampart.egress.seed_test

import data.rampart.egress

src(app) := {"principal": sprintf("spiffe://cluster.local/ns/default/sa/%s", [app]), "namespace": "default", "labels": {"app": app}}

req(app, host) := {"source": src(app), "destination": {"host": host, "ip": "198.19.0.10", "port": 443, "protocol": "tls"}}

test_a_reaches_github_and_httpbin if {
	egress.allow.allowed with input as req("a", "github.com")
	egress.allow.allowed with input as req("a", "httpbin.org")
}

test_a_denied_google_with_body if {
	d := egress.allow with input as req("a", "google.com")
	not d.allowed
	d.body == "Access denied: egress to google.com\n"
}

test_b_reaches_google_only if {
	egress.allow.allowed with input as req("b", "google.com")
	not egress.allow.allowed with input as req("b", "github.com")
}

test_evil_denied_for_both if {
	not egress.allow.allowed with input as req("a", "evil.example")
	not egress.allow.allowed with input as req("b", "evil.example")
}

test_no_host_denied_by_address if {
	d := egress.allow with input as {"source": src("a"), "destination": {"ip": "198.19.0.10", "port": 22, "protocol": "tcp"}}
	not d.allowed
	d.body == "Access denied: egress to 198.19.0.10:22\n"
}

test_enforced_only_for_listed_apps if {
	egress.enforced with input as {"source": src("a")}
	egress.enforced with input as {"source": src("b")}
	not egress.enforced with input as {"source": src("c")}
}

test_host_matches if {
	egress.host_matches("github.com", "github.com")
	egress.host_matches("GitHub.com.", "github.com")
	egress.host_matches("github.com", "GITHUB.COM.")
	egress.host_matches("*.github.com", "api.github.com")
	egress.host_matches("*.github.com", "a.b.github.com")
	egress.host_matches("*.GitHub.com.", "api.github.com")
	not egress.host_matches("*.github.com", "github.com")
	not egress.host_matches("*.github.com", "github.com.evil.example")
	not egress.host_matches("*.github.com", "evilgithub.com")
	not egress.host_matches("github.com", "api.github.com")
	not egress.host_matches("github.com", "github.com.evil.example")
	not egress.host_matches("*.github.com", ".github.com")
}
