package rampart.authz.networkpolicy_test

import data.rampart.authz

# call builds an input: a source (namespace, labels; "" namespace = unauthenticated)
# calling a destination (namespace, labels).
call(src_ns, src_labels, dst_ns, dst_labels) := {"attributes": {
	"source": object.union(principal(src_ns), {"labels": src_labels}),
	"destination": object.union(principal(dst_ns), {"labels": dst_labels}),
	"request": {"http": {"method": "GET", "path": "/"}},
}}

principal(ns) := {} if ns == ""

principal(ns) := {"principal": sprintf("spiffe://cluster.local/ns/%s/sa/app", [ns])} if ns != ""

only(policy) := {"default_allow": false, "namespaces": namespaces, "policies": [policy]}

namespaces := {"default": {}, "prod": {"purpose": "production"}, "staging": {"purpose": "staging"}, "secondary": {}}

# Recipe 1: deny all traffic to an application.
deny_web := only({"namespace": "default", "podSelector": {"app": "web"}, "ingress": []})

test_recipe1_denies_everyone if {
	not authz.allow with input as call("default", {"app": "shop"}, "default", {"app": "web"})
		with data.rampart.networkpolicy as deny_web
}

test_recipe1_other_apps_keep_default if {
	authz.allow with input as call("default", {"app": "shop"}, "default", {"app": "db"})
		with data.rampart.networkpolicy as object.union(deny_web, {"default_allow": true})
}

# Recipe 2: limit traffic to an application to some callers.
limit_api := only({
	"namespace": "default", "podSelector": {"app": "bookstore", "role": "api"},
	"ingress": [{"from": [{"podSelector": {"app": "bookstore"}}]}],
})

test_recipe2_allows_listed_caller if {
	authz.allow with input as call("default", {"app": "bookstore", "role": "frontend"}, "default", {"app": "bookstore", "role": "api"})
		with data.rampart.networkpolicy as limit_api
}

test_recipe2_denies_other_caller if {
	not authz.allow with input as call("default", {"app": "coffeeshop"}, "default", {"app": "bookstore", "role": "api"})
		with data.rampart.networkpolicy as limit_api
}

test_recipe2_denies_same_labels_other_namespace if {
	not authz.allow with input as call("staging", {"app": "bookstore"}, "default", {"app": "bookstore", "role": "api"})
		with data.rampart.networkpolicy as limit_api
}

# Recipe 3: deny all non-allow-listed traffic in a namespace, even with default_allow.
default_deny := {"default_allow": true, "namespaces": namespaces, "policies": [
	{"namespace": "default", "podSelector": {}, "ingress": []},
	{"namespace": "default", "podSelector": {"app": "web"}, "ingress": [{"from": [{"podSelector": {"app": "shop"}}]}]},
]}

test_recipe3_denies_unlisted if {
	not authz.allow with input as call("default", {"app": "shop"}, "default", {"app": "db"})
		with data.rampart.networkpolicy as default_deny
}

test_recipe3_allow_list_still_applies if {
	authz.allow with input as call("default", {"app": "shop"}, "default", {"app": "web"})
		with data.rampart.networkpolicy as default_deny
}

test_recipe3_other_namespace_unaffected if {
	authz.allow with input as call("default", {"app": "shop"}, "staging", {"app": "db"})
		with data.rampart.networkpolicy as default_deny
}

# Recipe 4: deny all traffic from other namespaces.
same_namespace := only({"namespace": "secondary", "podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]})

test_recipe4_allows_same_namespace if {
	authz.allow with input as call("secondary", {"app": "a"}, "secondary", {"app": "web"})
		with data.rampart.networkpolicy as same_namespace
}

test_recipe4_denies_other_namespace if {
	not authz.allow with input as call("default", {"app": "a"}, "secondary", {"app": "web"})
		with data.rampart.networkpolicy as same_namespace
}

test_recipe4_denies_unauthenticated if {
	not authz.allow with input as call("", {}, "secondary", {"app": "web"})
		with data.rampart.networkpolicy as same_namespace
}

# Recipe 5: allow traffic from namespaces selected by label.
from_production := only({
	"namespace": "prod", "podSelector": {"app": "web"},
	"ingress": [{"from": [{"namespaceSelector": {"purpose": "production"}}]}],
})

test_recipe5_allows_labelled_namespace if {
	authz.allow with input as call("prod", {"app": "anything"}, "prod", {"app": "web"})
		with data.rampart.networkpolicy as from_production
}

test_recipe5_denies_unlabelled_namespace if {
	not authz.allow with input as call("staging", {"app": "anything"}, "prod", {"app": "web"})
		with data.rampart.networkpolicy as from_production
}

test_recipe5_with_pod_selector if {
	policy := only({
		"namespace": "prod", "podSelector": {"app": "web"},
		"ingress": [{"from": [{"namespaceSelector": {"purpose": "production"}, "podSelector": {"role": "monitoring"}}]}],
	})
	authz.allow with input as call("prod", {"role": "monitoring"}, "prod", {"app": "web"}) with data.rampart.networkpolicy as policy
	not authz.allow with input as call("prod", {"role": "batch"}, "prod", {"app": "web"}) with data.rampart.networkpolicy as policy
}

# Recipe 6: allow traffic from external (unauthenticated) clients.
external := only({"namespace": "default", "podSelector": {"app": "web"}, "ingress": [{}]})

test_recipe6_allows_unauthenticated if {
	authz.allow with input as call("", {}, "default", {"app": "web"})
		with data.rampart.networkpolicy as external
}

test_recipe6_allows_mesh_callers_too if {
	authz.allow with input as call("staging", {"app": "x"}, "default", {"app": "web"})
		with data.rampart.networkpolicy as external
}

test_recipe6_does_not_open_other_apps if {
	not authz.allow with input as call("", {}, "default", {"app": "db"})
		with data.rampart.networkpolicy as external
}

# The shipped data: zero trust by default.
test_shipped_default_denies_unselected if {
	not authz.allow with input as call("staging", {"app": "x"}, "staging", {"app": "unselected"})
}

test_shipped_external_storefront if {
	authz.allow with input as call("", {}, "default", {"app": "storefront"})
}

test_destination_without_spiffe_id_denied if {
	not authz.allow with input as {"attributes": {"destination": {"labels": {"app": "web"}}}}
		with data.rampart.networkpolicy as external
}
