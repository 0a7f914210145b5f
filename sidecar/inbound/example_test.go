package inbound_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// A plaintext inbound proxy in front of an app, with a policy that lets anyone land
// and nothing else. The request for the exhaust port never reaches the app.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, _ := net.Listen("tcp", "127.0.0.1:0")
	go http.Serve(app, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "app saw %s %s", r.Method, r.URL.Path)
	}))
	landOnly := inbound.AuthorizerFunc(func(_ context.Context, in *rego.Input) rego.Decision {
		return rego.Decision{Allowed: in.Request != nil && in.Request.Method == "POST" && in.Request.Path == "/v1/request-landing"}
	})
	srv, _ := inbound.New(inbound.Options{Authorizer: landOnly, Mode: inbound.Permissive, Upstream: app.Addr().String()})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.ServePlaintext(ctx, ln)

	for _, req := range []string{"POST /v1//x/../request-landing", "PUT /v1/exhaust-port", "POST /v1/%2e%2e/exhaust-port"} {
		method, path, _ := strings.Cut(req, " ")
		r, _ := http.NewRequest(method, "http://"+ln.Addr().String()+path, nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			fmt.Println(err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s → %d %s\n", req, resp.StatusCode, body)
	}
	// Output:
	// POST /v1//x/../request-landing → 200 app saw POST /v1/request-landing
	// PUT /v1/exhaust-port → 403 Access denied
	// POST /v1/%2e%2e/exhaust-port → 403 Access denied
}
