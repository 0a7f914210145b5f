# Inbound and egress rules in one bare bundle: roots rampart/authz, rampart/egress.
package rampart.authz

default allow := true
