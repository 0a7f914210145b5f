# Inbound rules only: egress stays undecided (today's passthrough).
package rampart.authz

default allow := false
