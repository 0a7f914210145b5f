package envoy.lib

known(u) if data.users[u].active
