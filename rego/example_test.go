package rego_test

import (
	"context"
	"fmt"

	"github.com/rampart-mesh/rampart/rego"
)

// The Star Wars demo: tiefighter (org=empire) may land on the deathstar, but may not
// touch its exhaust port; xwing (org=alliance) may not land.
func Example() {
	ctx := context.Background()
	e, err := rego.New()
	if err != nil {
		panic(err)
	}
	fmt.Println("before load:", e.Decide(ctx, &rego.Input{}).Reason)
	if err := e.LoadDir(ctx, "starwars", "../policies/starwars"); err != nil {
		panic(err)
	}
	ship := func(org, method, path string) *rego.Input {
		return &rego.Input{
			Source:      rego.Peer{Labels: map[string]string{"org": org}},
			Destination: rego.Peer{Labels: map[string]string{"app": "deathstar"}},
			Request:     &rego.Request{Method: method, Path: path},
		}
	}
	for _, in := range []*rego.Input{
		ship("empire", "POST", "/v1/request-landing"),
		ship("empire", "PUT", "/v1/exhaust-port"),
		ship("alliance", "POST", "/v1/request-landing"),
	} {
		d := e.Decide(ctx, in)
		fmt.Println(in.Source.Labels["org"], in.Request.Method, in.Request.Path, "→", d.Allowed, d.HTTPStatus, d.Body, d.Revision)
	}
	// Output:
	// before load: no policy bundle loaded
	// empire POST /v1/request-landing → true 0  starwars-v1
	// empire PUT /v1/exhaust-port → false 403 Access denied starwars-v1
	// alliance POST /v1/request-landing → false 403 Access denied starwars-v1
}
