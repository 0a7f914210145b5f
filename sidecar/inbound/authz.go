package inbound

import (
	"context"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// Authorizer decides one request or L4 connection; it must fail closed (a
// *rego.Engine does). Declared here, where it is used.
type Authorizer interface {
	Decide(ctx context.Context, in *rego.Input) rego.Decision
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, in *rego.Input) rego.Decision

// Decide calls f.
func (f AuthorizerFunc) Decide(ctx context.Context, in *rego.Input) rego.Decision { return f(ctx, in) }

// connInfo is what the proxy knows about one (tunnelled or plaintext) connection.
type connInfo struct {
	source   rego.Peer // principal "" when unauthenticated
	dest     rego.Peer
	upstream string // where allowed traffic goes
	scheme   string // "https" inside mTLS, else "http"

	// xfccFields caches the x-forwarded-client-cert field for HTTP/1 requests (one
	// goroutine per connection), so it is built once per connection, not per request.
	xfccFields []httpx.Field
	xfccDone   bool
}

// proxySet are request headers the proxy itself owns; a client's copies are removed
// before policy sees the request, so a client cannot claim an identity.
var proxySet = map[string]bool{
	"x-forwarded-client-cert": true,
	"x-forwarded-for":         true,
	"x-forwarded-host":        true,
	"x-forwarded-proto":       true,
	"forwarded":               true,
}

// isProxySet also catches "x_forwarded_client_cert": some frameworks (CGI, WSGI)
// map "_" and "-" to the same variable. It folds name into a stack buffer (every
// proxy-set name is short): a lowered copy per field was an allocation per field.
func isProxySet(name string) bool {
	var buf [32]byte
	if len(name) > len(buf) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		buf[i] = c
	}
	return proxySet[string(buf[:len(name)])]
}

// xfcc is the x-forwarded-client-cert value for an authenticated peer (Envoy's
// By=...;URI=... form), or "" for an unauthenticated one.
func (ci *connInfo) xfcc() string {
	if ci.source.Principal == "" {
		return ""
	}
	if ci.dest.Principal == "" {
		return "URI=" + ci.source.Principal
	}
	return "By=" + ci.dest.Principal + ";URI=" + ci.source.Principal
}

// xfccExtra is the field the proxy adds to every forwarded HTTP/1 request (none for
// an unauthenticated peer). Only the connection's own goroutine may call it.
func (ci *connInfo) xfccExtra() []httpx.Field {
	if !ci.xfccDone {
		if v := ci.xfcc(); v != "" {
			ci.xfccFields = []httpx.Field{{Name: "X-Forwarded-Client-Cert", Value: v}}
		}
		ci.xfccDone = true
	}
	return ci.xfccFields
}

// l4Input is the input for an opaque connection: no request.
func (ci *connInfo) l4Input() *rego.Input {
	return &rego.Input{Source: ci.source, Destination: ci.dest}
}

// httpInput is the input for one normalized request. Input and Request share one
// allocation.
func (ci *connInfo) httpInput(method, target, host, proto string, headers map[string]string) *rego.Input {
	p := &struct {
		in  rego.Input
		req rego.Request
	}{req: rego.Request{
		Method: method, Path: target, Host: host, Headers: headers,
		Scheme: ci.scheme, Protocol: proto,
	}}
	p.in = rego.Input{Source: ci.source, Destination: ci.dest, Request: &p.req}
	return &p.in
}
