package starwars

import (
	"fmt"
	"net/http"
)

// Bodies the deathstar answers with, as in Cilium's Star Wars demo.
const (
	LandedBody = "Ship landed\n"
	PanicBody  = "Panic: deathstar exploded\n\ngoroutine 1 [running]:\n" +
		"main.HandleGarbage(0x2080c3f50, 0x2, 0x4, 0x425c0, 0x5, 0xa)\n" +
		"\t/code/src/github.com/empire/deathstar/temp/main.go:9 +0x64\n" +
		"main.main()\n\t/code/src/github.com/empire/deathstar/temp/main.go:5 +0x85\n"
)

// ServedByHeader names the replica that answered, so callers can see balancing.
const ServedByHeader = "X-Served-By"

// Deathstar answers POST /v1/request-landing, PUT /v1/exhaust-port and GET /v1/
// like Cilium's deathstar, naming itself in ServedByHeader. seen, when not nil,
// is called first for every request (the demo logs it to prove what arrived);
// it must be safe for concurrent use.
func Deathstar(name string, seen func(method, path string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			seen(r.Method, r.URL.Path)
		}
		w.Header().Set(ServedByHeader, name)
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/request-landing":
			fmt.Fprint(w, LandedBody)
		case r.Method == http.MethodPut && r.URL.Path == "/v1/exhaust-port":
			fmt.Fprint(w, PanicBody)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/":
			fmt.Fprintf(w, `{"name":"Death Star","model":"DS-1 Orbital Battle Station","replica":%q}`+"\n", name)
		default:
			http.NotFound(w, r)
		}
	})
}
