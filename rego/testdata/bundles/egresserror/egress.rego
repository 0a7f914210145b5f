# An egress rule that fails at evaluation (two values for one complete rule): the
# connection must be denied.
package rampart.egress

allow := true if input.destination.port == 443

allow := false if input.destination.port == 443
