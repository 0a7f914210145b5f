package rego_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
)

// jsonBody1k is a 1 kB JSON request body of the kind a with_request_body policy
// inspects: a landing request with some cargo.
func jsonBody1k() []byte {
	var sb strings.Builder
	sb.WriteString(`{"ship": "tiefighter", "pilot": "TK-421", "cargo": [`)
	for i := 0; sb.Len() < 1000; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, `{"id": %d, "kind": "crate", "mass_kg": %d}`, i, 10+i)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// BenchmarkDecideBody is the cost of reading a request body in policy: the Star Wars
// request with a 1 kB JSON body, decided by a policy that reads parsed_body ("on")
// and by one that reads only the method and path ("off": the body is in the Input
// but the policy cannot see it, so it is neither parsed nor keyed). "evaluated" turns
// the decision cache off; "cached" repeats one request.
func BenchmarkDecideBody(b *testing.B) {
	policies := map[string]string{
		"off": "package rampart.authz\n\ndefault allow := false\n\nallow if {\n\tinput.attributes.request.http.method == \"POST\"\n\tinput.parsed_path == [\"v1\", \"request-landing\"]\n}\n",
		"on":  "package rampart.authz\n\ndefault allow := false\n\nallow if {\n\tinput.attributes.request.http.method == \"POST\"\n\tinput.parsed_path == [\"v1\", \"request-landing\"]\n\tnot input.truncated_body\n\tinput.parsed_body.ship == \"tiefighter\"\n}\n",
	}
	in := starWarsInput()
	in.Request.Body = jsonBody1k()
	in.Request.Headers["content-type"] = "application/json"
	in.Request.Headers["content-length"] = fmt.Sprint(len(in.Request.Body))
	for _, body := range []string{"off", "on"} {
		dir := b.TempDir()
		writeBundle(b, dir, "body-"+body, policies[body], "")
		for _, cache := range []string{"evaluated", "cached"} {
			opts := []rego.Option{rego.WithRequestBody(0)}
			if cache == "evaluated" {
				opts = append(opts, rego.WithDecisionCache(0))
			}
			e := newEngine(b, opts...)
			if err := e.LoadDir(context.Background(), "main", dir); err != nil {
				b.Fatal(err)
			}
			if got := e.BodyPolicy().Read; got != (body == "on") {
				b.Fatalf("BodyPolicy().Read = %v for body %s", got, body)
			}
			b.Run("body-"+body+"/"+cache, func(b *testing.B) { benchDecide(b, e, in, true) })
		}
	}
}
