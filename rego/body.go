package rego

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// Body defaults and bounds (WithRequestBody, the manifest's request_body).
const (
	// DefaultRequestBodyBytes is how much of a body is buffered when body reading is
	// turned on without a size (Envoy's with_request_body examples use 8 KiB).
	DefaultRequestBodyBytes = 8 << 10
	// MaxRequestBodyBytes caps every configured size: the proxy holds this much per
	// request in flight, so no bundle may ask for more.
	MaxRequestBodyBytes = 1 << 20
)

// parsedBody is what the input says about a body the proxy read: input.parsed_body
// (ast.Null when the content type is not one that is parsed, the body is empty or
// it was cut) and input.truncated_body.
type parsedBody struct {
	value     ast.Value
	truncated bool
}

// parseBody parses r.Body by its content type as OPA-Envoy's getParsedBody does:
// application/json (matched as a substring, as OPA-Envoy does), then
// application/x-www-form-urlencoded, then multipart/form-data (fields; parts of type
// application/json parsed), and, beyond OPA-Envoy, any other "+json" media type. A
// cut body, or one shorter than its Content-Length, is truncated and not parsed. A
// body that does not parse as its declared type is an error: the decision denies,
// as OPA-Envoy's evaluation error does (Envoy then denies), never a silent null.
func (r *Request) parseBody() (parsedBody, error) {
	out := parsedBody{value: ast.Null{}}
	if r.BodyTruncated {
		out.truncated = true
		return out, nil
	}
	ct, ok := r.Headers["content-type"]
	if !ok || len(r.Body) == 0 {
		return out, nil
	}
	kind := bodyKind(ct)
	if kind == "" {
		return out, nil
	}
	if cl, ok := r.Headers["content-length"]; ok {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil {
			return out, fmt.Errorf("%w: content-length %q: %w", ErrBadInput, cl, err)
		}
		if n > int64(len(r.Body)) {
			out.truncated = true
			return out, nil
		}
	}
	v, err := parseAs(kind, ct, r.Body)
	if err != nil {
		return out, fmt.Errorf("%w: request body is not valid %s: %w", ErrBadInput, kind, err)
	}
	out.value = v
	return out, nil
}

// bodyKind names the parser for a content type ("" when the body is not parsed), in
// OPA-Envoy's order of substring tests. gRPC bodies are not parsed (no descriptors).
func bodyKind(ct string) string {
	switch {
	case strings.Contains(ct, "application/json"):
		return "application/json"
	case strings.Contains(ct, "application/grpc"):
		return ""
	case strings.Contains(ct, "application/x-www-form-urlencoded"):
		return "application/x-www-form-urlencoded"
	case strings.Contains(ct, "multipart/form-data"):
		return "multipart/form-data"
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil && strings.HasSuffix(mt, "+json") {
		return "application/json"
	}
	return ""
}

func parseAs(kind, ct string, body []byte) (ast.Value, error) {
	switch kind {
	case "application/json":
		return jsonValue(body)
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		return ast.InterfaceToValue(map[string][]string(q))
	default:
		return multipartValue(ct, body)
	}
}

func jsonValue(b []byte) (ast.Value, error) {
	var x any
	if err := util.UnmarshalJSON(b, &x); err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(x)
}

// multipartValue returns {field: [value, ...]} of a multipart/form-data body: each
// named part's text, or its parsed JSON when the part says application/json. A
// content type without a boundary parses to null, as in OPA-Envoy. The body is
// already bounded by the buffer size, so reading parts whole is bounded too.
func multipartValue(ct string, body []byte) (ast.Value, error) {
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, err
	}
	boundary, ok := params["boundary"]
	if !ok {
		return ast.Null{}, nil
	}
	fields := map[string][]any{}
	mr := multipart.NewReader(strings.NewReader(string(body)), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := p.FormName()
		if name == "" {
			continue
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		var v any = string(raw)
		if strings.Contains(p.Header.Get("Content-Type"), "application/json") {
			if err := util.UnmarshalJSON(raw, &v); err != nil {
				return nil, fmt.Errorf("part %q: %w", name, err)
			}
		}
		fields[name] = append(fields[name], v)
	}
	return ast.InterfaceToValue(fields)
}

// bodyText returns the members Envoy gives a body in attributes.request.http: "body"
// for UTF-8 text, else the base64 of the bytes under "raw_body" (and "rawBody", the
// name OPA-Envoy's v3 input actually carries). An empty body has neither, as in
// Envoy's proto (an empty string is an absent field).
func (r *Request) bodyText(n *need, kv *pairs) {
	text, raw, camel := n.at(fBody) != nil, n.at(fRawBody) != nil, n.at(fRawBodyCamel) != nil
	if len(r.Body) == 0 || !text && !raw && !camel {
		return // a policy reading only parsed_body pays no scan and no encoding here
	}
	if utf8.Valid(r.Body) {
		if text {
			kv.add(kBody, ast.StringTerm(string(r.Body)))
		}
		return
	}
	if !raw && !camel {
		return
	}
	enc := ast.StringTerm(base64.StdEncoding.EncodeToString(r.Body))
	if raw {
		kv.add(kRawBody, enc)
	}
	if camel {
		kv.add(kRawBodyCamel, enc)
	}
}
