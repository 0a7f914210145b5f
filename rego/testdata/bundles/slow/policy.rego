# Runs for a very long time (10^8 steps) unless evaluation is cancelled.
package rampart.authz

allow if {
	some i in numbers.range(1, 10000)
	some j in numbers.range(1, 10000)
	i * j < 0
}
