package rampart.authz

allow if {
	input.attributes.request.http.method == 
