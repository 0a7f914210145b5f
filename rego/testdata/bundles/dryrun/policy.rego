# Denies everything, but the manifest asks for dry-run.
package rampart.authz

default allow := false
