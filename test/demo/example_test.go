package demo_test

import (
	"fmt"
	"os"

	"github.com/rampart-mesh/rampart/test/demo"
)

func ExampleParseDecision() {
	d, err := demo.ParseDecision(`{"decision_id":"9f3c-1","input":{"attributes":{` +
		`"source":{"principal":"spiffe://cluster.local/ns/default/sa/xwing","labels":{"org":"alliance"}},` +
		`"request":{"http":{"method":"POST","path":"/v1/request-landing"}}}},` +
		`"bundles":{"main":{"revision":"starwars-demo-1"}},"timestamp":"2026-11-22T01:58:00Z",` +
		`"rampart":{"allowed":false,"http_status":403,"reason":"denied by policy"}}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Source, d.Labels["org"], d.Method, d.Path, d.Allowed, d.Reason, d.Revision())
	// Output: spiffe://cluster.local/ns/default/sa/xwing alliance POST /v1/request-landing false denied by policy starwars-demo-1
}

func ExamplePrintSteps() {
	landed := demo.Step{Caller: "tiefighter", Method: "POST", Path: "/v1/request-landing", Target: "deathstar VIP",
		Result: demo.Result{Status: 200, Body: demo.LandedBody}, Decision: &demo.Decision{Allowed: true}}
	denied := demo.Step{Caller: "xwing", Method: "POST", Path: "/v1/request-landing", Target: "deathstar VIP",
		Result: demo.Result{Status: 403, Body: "Access denied"}, Decision: &demo.Decision{Reason: "denied by policy",
			Source: "spiffe://cluster.local/ns/default/sa/xwing"}}
	refused := demo.Step{Caller: "smuggler", Method: "POST", Path: "/v1/request-landing", Target: "pod",
		Result: demo.Result{Err: "read: connection reset by peer"}, Unmeshed: true}
	demo.PrintSteps(os.Stdout, []demo.Step{landed, denied, refused})
	// Output:
	// CALLER      REQUEST                   TO             OUTCOME                     DECISION REASON
	// tiefighter  POST /v1/request-landing  deathstar VIP  200 Ship landed             allowed by policy
	// xwing       POST /v1/request-landing  deathstar VIP  403 Access denied           denied by policy
	// smuggler    POST /v1/request-landing  pod            refused: closed unanswered  no decision: plaintext refused in STRICT mode
}
