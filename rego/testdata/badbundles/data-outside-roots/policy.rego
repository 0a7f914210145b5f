package rampart.authz

allow := true
