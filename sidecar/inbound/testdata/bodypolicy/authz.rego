# Body test policy: a landing is allowed only when its whole JSON body asks to land.
package rampart.authz

default allow := false

allow if {
	input.attributes.request.http.method == "POST"
	input.parsed_body.action == "land"
	not input.truncated_body
}
