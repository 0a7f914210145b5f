# A complete rule with two different values: evaluation fails (conflict error).
package rampart.authz

allow := true if input.attributes.request.http.method
allow := false if input.attributes.request.http.method
