# Compile error: allow is both a boolean and a function.
package rampart.authz

allow := true

allow(x) := x
