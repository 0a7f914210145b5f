# A bare directory, as OPA-Envoy's examples ship: no .manifest. Its roots are derived:
# envoy/authz and envoy/lib (packages) and users (data).
package envoy.authz

import data.envoy.lib

default allow := false

allow if lib.known(input.attributes.request.http.headers["x-user"])
