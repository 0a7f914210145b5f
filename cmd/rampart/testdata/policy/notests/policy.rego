package envoy.authz

default allow := false
