package rampart.authz

# A policy whose decision is not a function of its input: a decision cache must never
# remember it.
default allow := false

allow if {
	input.attributes.request.http.method == "POST"
	rand.intn("coin", 2) == 0
}
