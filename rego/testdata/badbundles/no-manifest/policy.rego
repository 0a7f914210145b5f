# No .manifest: OPA would silently claim every root.
package rampart.authz

allow := true
