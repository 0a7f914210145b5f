# Uses the shipped lib bundle (loaded as a second bundle): reads are open, writes only
# to /orders/**.
package rampart.authz

import data.rampart.lib

default allow := false

allow if lib.read_only(input.attributes.request.http.method)

allow if lib.route_allowed([{"methods": ["post"], "paths": ["/orders/**"]}], input.attributes.request.http.method, input.attributes.request.http.path)
