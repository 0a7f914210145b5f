package inbound

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// An allow decision may change what is forwarded, as OPA-Envoy's does: "headers" set
// request fields (replacing fields of the same name), "request_headers_to_remove"
// removes them (after the sets, as Envoy applies them), "query_parameters_to_set"
// and "_to_remove" rewrite the query (httpx.EditQuery; the path stays the normalized
// one that was authorized), and "response_headers_to_add" are added to the app's
// answer. The engine's decision log records the fields.
//
// A field the proxy regenerates or that would change the request's framing or
// routing (Content-Length, Transfer-Encoding, Host, Connection and the other
// hop-by-hop fields, pseudo-headers, the fields the proxy sets itself such as
// x-forwarded-client-cert), an invalid name or a value with CR, LF or NUL is not
// dropped but makes the whole decision an error: the request is answered 500 and
// not forwarded (fail closed), and the reason is logged.

// errBadAllow wraps the reason an allow decision could not be applied.
var errBadAllow = errors.New("allow decision cannot be applied")

// hasEdits reports whether an allow decision changes the request or the response.
func hasEdits(d *rego.Decision) bool {
	return len(d.Headers) > 0 || len(d.RequestHeadersToRemove) > 0 || len(d.ResponseHeadersToAdd) > 0 ||
		len(d.QueryParametersToSet) > 0 || len(d.QueryParametersToRemove) > 0
}

// checkAllow refuses a decision whose changes the proxy must not apply.
func checkAllow(d *rego.Decision) error {
	for _, f := range d.Headers {
		if err := checkEditField(f.Name, f.Value, true); err != nil {
			return fmt.Errorf("%w: headers: %w", errBadAllow, err)
		}
	}
	for _, n := range d.RequestHeadersToRemove {
		if err := checkEditField(n, "", true); err != nil {
			return fmt.Errorf("%w: request_headers_to_remove: %w", errBadAllow, err)
		}
	}
	for _, f := range d.ResponseHeadersToAdd {
		if err := checkEditField(f.Name, f.Value, false); err != nil {
			return fmt.Errorf("%w: response_headers_to_add: %w", errBadAllow, err)
		}
	}
	return nil
}

// checkEditField refuses a field a policy may not set or remove.
func checkEditField(name, value string, request bool) error {
	if !validFieldName(name) || strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("invalid field %q", name)
	}
	lk := strings.ToLower(name)
	if responseHopByHop[lk] || request && (lk == "host" || lk == "expect" || lk == "http2-settings" || isProxySet(lk)) {
		return fmt.Errorf("field %q is set by the proxy", name)
	}
	return nil
}

// validFieldName: a non-empty token (RFC 9110 5.1); pseudo-headers are not tokens.
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// applyAllowHTTP1 applies a checked decision's request changes to req.
func applyAllowHTTP1(req *httpx.Request, d *rego.Decision) error {
	if len(d.Headers) > 0 || len(d.RequestHeadersToRemove) > 0 {
		req.Header = editFields(req.Header, d.Headers, d.RequestHeadersToRemove)
	}
	q, err := editQuery(req.Query, d)
	req.Query = q
	return err
}

// editQuery applies the decision's query changes.
func editQuery(query string, d *rego.Decision) (string, error) {
	if len(d.QueryParametersToSet) == 0 && len(d.QueryParametersToRemove) == 0 {
		return query, nil
	}
	q, err := httpx.EditQuery(query, toHTTPX(d.QueryParametersToSet), d.QueryParametersToRemove)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errBadAllow, err)
	}
	return q, nil
}

// editFields returns a new field list: in's fields not named by set or remove, then
// set's fields not named by remove.
func editFields(in []httpx.Field, set []rego.Field, remove []string) []httpx.Field {
	out := make([]httpx.Field, 0, len(in)+len(set))
	named := func(name string, list []string) bool {
		for _, n := range list {
			if strings.EqualFold(n, name) {
				return true
			}
		}
		return false
	}
	setNames := make([]string, len(set))
	for i, f := range set {
		setNames[i] = f.Name
	}
	for _, f := range in {
		if !named(f.Name, setNames) && !named(f.Name, remove) {
			out = append(out, f)
		}
	}
	for _, f := range set {
		if !named(f.Name, remove) {
			out = append(out, httpx.Field{Name: f.Name, Value: f.Value})
		}
	}
	return out
}

func toHTTPX(fs []rego.Field) []httpx.Field {
	out := make([]httpx.Field, len(fs))
	for i, f := range fs {
		out[i] = httpx.Field{Name: f.Name, Value: f.Value}
	}
	return out
}

// editHeader applies a checked decision's request header changes to an HTTP/2
// request's header (built for this request alone).
func editHeader(h http.Header, d *rego.Decision) {
	for _, f := range d.Headers {
		h.Del(f.Name)
	}
	for _, f := range d.Headers {
		h.Add(f.Name, f.Value)
	}
	for _, n := range d.RequestHeadersToRemove {
		h.Del(n)
	}
}

// addResponseFields adds response_headers_to_add to an HTTP/2 (or downgraded) answer.
func addResponseFields(h http.Header, fs []rego.Field) {
	for _, f := range fs {
		h.Add(f.Name, f.Value)
	}
}
