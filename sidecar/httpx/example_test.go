package httpx_test

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

func ExampleNormalizeTarget() {
	for _, target := range []string{
		"/v1//x/../request-landing?a=1#frag",
		"/v1/%2e%2e/exhaust-port",
		"/v1/exhaust-port%2f..",
	} {
		path, query, err := httpx.NormalizeTarget(target, httpx.RejectSlashes)
		fmt.Printf("%q %q %v\n", path, query, err)
	}
	// Output:
	// "/v1/request-landing" "a=1" <nil>
	// "/exhaust-port" "" <nil>
	// "" "" 400 Bad Request: encoded slash or backslash in path
}

func ExampleReadRequest() {
	raw := "put /v1/exhaust-port HTTP/1.1\r\nHost: deathstar\r\n\r\n"
	_, err := httpx.ReadRequest(bufio.NewReader(strings.NewReader(raw)), httpx.Config{})
	fmt.Println(err)
	// Output:
	// 400 Bad Request: method "put" is not an upper-case token
}
