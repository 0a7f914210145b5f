# An object decision: denies GET with 429, a body, a header and a reason.
package rampart.authz

default allow := {"allowed": false, "http_status": 429, "body": "slow down", "headers": {"retry-after": "7"}, "reason": "rate limited"}

allow := {"allowed": true} if input.attributes.request.http.method == "POST"
