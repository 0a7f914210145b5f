package rego

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
)

// InputForm names a JSON form DecodeInput recognized.
type InputForm string

// The input forms `rampart policy eval --input` accepts.
const (
	// FormRampart is Rampart's own Input: {source, destination, request}.
	FormRampart InputForm = "rampart"
	// FormOPAEnvoy is the input OPA-Envoy hands its policies: {attributes,
	// parsed_path, parsed_query, ...}.
	FormOPAEnvoy InputForm = "opa-envoy"
	// FormCheckRequest is an Envoy ext_authz v3 CheckRequest in proto JSON:
	// {attributes} only (camelCase or proto field names).
	FormCheckRequest InputForm = "envoy-check-request"
	// FormDecisionLog is one decision-log line (Rampart's or OPA's): {decision_id,
	// input, ...}; its input is replayed.
	FormDecisionLog InputForm = "decision-log"
)

// DecodedInput is an input read from one of the accepted forms.
type DecodedInput struct {
	Input *Input
	Form  InputForm
	// Dropped lists fields of the given JSON that Rampart's input has no place for
	// (e.g. request.http.id, contextExtensions): a policy reading them would see
	// them absent.
	Dropped []string
}

// errInputForm says no form matched.
var errInputForm = errors.New("input matches no known form: want Rampart's {source, destination, request}, " +
	"OPA-Envoy's input or an Envoy CheckRequest {attributes, ...}, or a decision-log line {decision_id, input, ...}")

// DecodeInput reads an input in any accepted form, told apart by its top-level keys.
// Rampart's own form is decoded strictly (an unknown field is an error: a misspelt
// field would silently change the decision); the Envoy-shaped forms are converted
// field by field, with every value type-checked and what has no place in Rampart's
// input listed in Dropped.
func DecodeInput(raw []byte) (DecodedInput, error) {
	// The Envoy-shaped forms (every logged decision) are decoded in one pass; the
	// others, and any JSON that pass does not take, as below.
	if doc, ok := envoyDoc(raw); ok {
		return decodeEnvoy(doc)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return DecodedInput{}, fmt.Errorf("input: %w", err)
	}
	switch {
	case top["decision_id"] != nil && top["input"] != nil:
		d, err := DecodeInput(top["input"])
		if err != nil {
			return d, fmt.Errorf("decision-log line: %w", err)
		}
		d.Form = FormDecisionLog
		var erased []string
		if json.Unmarshal(top["erased"], &erased) == nil {
			for _, p := range erased { // masked when logged: the replay lacks them
				d.Dropped = append(d.Dropped, "erased when logged: "+p)
			}
		}
		return d, nil
	case top["attributes"] != nil:
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return DecodedInput{}, fmt.Errorf("input: %w", err)
		}
		return decodeEnvoy(doc)
	case onlyKeys(top, "source", "destination", "request"):
		var in Input
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return DecodedInput{}, fmt.Errorf("input (Rampart form): %w", err)
		}
		in.normalize()
		return DecodedInput{Input: &in, Form: FormRampart}, nil
	}
	return DecodedInput{}, fmt.Errorf("%w; got keys %v", errInputForm, keysOf(top))
}

func onlyKeys(m map[string]json.RawMessage, allowed ...string) bool {
	for k := range m {
		if !slices.Contains(allowed, k) {
			return false
		}
	}
	return true
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// envoyDecoder converts the Envoy-shaped forms, remembering dropped fields.
type envoyDecoder struct{ dropped []string }

// envoyDoc decodes raw when it is a JSON object in an Envoy-shaped form (it has
// attributes and is not a decision-log line), numbers kept as json.Number.
func envoyDoc(raw []byte) (map[string]any, bool) {
	if v, ok := parseJSONFast(raw); ok { // else encoding/json decides
		doc, _ := v.(map[string]any)
		return doc, isEnvoyDoc(doc)
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF { // trailing data: json.Unmarshal's error
		return nil, false
	}
	return doc, isEnvoyDoc(doc)
}

func isEnvoyDoc(doc map[string]any) bool {
	_, attrs := doc["attributes"]
	_, id := doc["decision_id"]
	_, in := doc["input"]
	return attrs && !(id && in)
}

func decodeEnvoy(doc map[string]any) (DecodedInput, error) {
	form := FormCheckRequest
	var d envoyDecoder
	bodyRead := false
	for k, v := range doc {
		switch k {
		case "attributes":
		case "parsed_path", "parsed_query", "version", "source_principal":
			form = FormOPAEnvoy // derived by OPA-Envoy; Rampart derives them again
		case "parsed_body":
			form, bodyRead = FormOPAEnvoy, true
		case "truncated_body":
			form, bodyRead = FormOPAEnvoy, true
			if _, ok := v.(bool); !ok {
				return DecodedInput{}, fmt.Errorf("input: truncated_body is %T, want boolean", v)
			}
		default:
			d.dropped = append(d.dropped, k)
		}
	}
	attrs, ok := doc["attributes"].(map[string]any)
	if !ok {
		return DecodedInput{}, fmt.Errorf("input: attributes is not an object")
	}
	in, err := d.attributes(attrs)
	if err != nil {
		return DecodedInput{}, fmt.Errorf("input (%s form): %w", form, err)
	}
	if r := in.Request; r != nil {
		// OPA-Envoy parses bodies unless told not to: parsed_body is null for a
		// CheckRequest without one. Envoy marks a cut body with this header.
		if r.Body == nil && (bodyRead || form == FormCheckRequest) {
			r.Body = []byte{}
		}
		r.BodyTruncated = doc["truncated_body"] == true || r.Headers["x-envoy-auth-partial-body"] == "true"
	}
	sort.Strings(d.dropped)
	in.normalize()
	return DecodedInput{Input: in, Form: form, Dropped: d.dropped}, nil
}

// normalize makes empty label and header maps nil: both are absent from the input,
// and one spelling keeps decoded inputs comparable.
func (in *Input) normalize() {
	for _, p := range []*Peer{&in.Source, &in.Destination} {
		if len(p.Labels) == 0 {
			p.Labels = nil
		}
	}
	if in.Request != nil && len(in.Request.Headers) == 0 {
		in.Request.Headers = nil
	}
}

func (d *envoyDecoder) drop(path string, m map[string]any, known ...string) {
	for k := range m {
		if !slices.Contains(known, k) {
			d.dropped = append(d.dropped, path+"."+k)
		}
	}
}

func (d *envoyDecoder) attributes(a map[string]any) (*Input, error) {
	d.drop("attributes", a, "source", "destination", "request")
	in := &Input{}
	var err error
	if in.Source, err = d.peer("attributes.source", a["source"]); err != nil {
		return nil, err
	}
	if in.Destination, err = d.peer("attributes.destination", a["destination"]); err != nil {
		return nil, err
	}
	req, err := object("attributes.request", a["request"])
	if err != nil || req == nil {
		return in, err
	}
	d.drop("attributes.request", req, "http")
	http, err := object("attributes.request.http", req["http"])
	if err != nil || http == nil {
		return in, err
	}
	in.Request, err = d.http(http)
	return in, err
}

func (d *envoyDecoder) peer(path string, v any) (Peer, error) {
	var p Peer
	m, err := object(path, v)
	if err != nil || m == nil {
		return p, err
	}
	d.drop(path, m, "principal", "labels", "address")
	if p.Principal, err = str(path+".principal", m["principal"]); err != nil {
		return p, err
	}
	if p.Labels, err = strMap(path+".labels", m["labels"]); err != nil {
		return p, err
	}
	p.Address, err = d.address(path+".address", m["address"])
	return p, err
}

// address reads Envoy's {socketAddress: {address, portValue}} (proto names too).
func (d *envoyDecoder) address(path string, v any) (string, error) {
	m, err := object(path, v)
	if err != nil || m == nil {
		return "", err
	}
	d.drop(path, m, "socketAddress", "socket_address")
	sa, err := object(path+".socketAddress", either(m, "socketAddress", "socket_address"))
	if err != nil || sa == nil {
		return "", err
	}
	d.drop(path+".socketAddress", sa, "address", "portValue", "port_value", "protocol")
	host, err := str(path+".socketAddress.address", sa["address"])
	if err != nil {
		return "", err
	}
	port := "0"
	switch pv := either(sa, "portValue", "port_value").(type) {
	case nil:
	case json.Number:
		port = pv.String()
	case string: // proto JSON may quote integers
		port = pv
	default:
		return "", fmt.Errorf("%s.socketAddress.portValue is %T, want number", path, pv)
	}
	return net.JoinHostPort(host, port), nil
}

func (d *envoyDecoder) http(m map[string]any) (*Request, error) {
	const path = "attributes.request.http"
	d.drop(path, m, "method", "path", "host", "headers", "scheme", "protocol", "body", "rawBody", "raw_body")
	r := &Request{}
	for _, f := range []struct {
		key string
		dst *string
	}{{"method", &r.Method}, {"path", &r.Path}, {"host", &r.Host}, {"scheme", &r.Scheme}, {"protocol", &r.Protocol}} {
		var err error
		if *f.dst, err = str(path+"."+f.key, m[f.key]); err != nil {
			return nil, err
		}
	}
	var err error
	if r.Headers, err = strMap(path+".headers", m["headers"]); err != nil {
		return nil, err
	}
	if b, ok := m["body"]; ok {
		s, err := str(path+".body", b)
		if err != nil {
			return nil, err
		}
		r.Body = []byte(s)
	}
	if rb := either(m, "rawBody", "raw_body"); rb != nil {
		s, err := str(path+".rawBody", rb)
		if err != nil {
			return nil, err
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s.rawBody: %w", path, err)
		}
		if len(r.Body) == 0 { // Envoy sends one or the other; OPA-Envoy prefers body
			r.Body = raw
		}
	}
	return r, nil
}

func either(m map[string]any, a, b string) any {
	if v, ok := m[a]; ok {
		return v
	}
	return m[b]
}

func object(path string, v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is %T, want object", path, v)
	}
	return m, nil
}

func str(path string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s is %T, want string", path, v)
	}
	return s, nil
}

func strMap(path string, v any) (map[string]string, error) {
	m, err := object(path, v)
	if err != nil || m == nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%q] is %T, want string", path, k, x)
		}
		out[strings.ToLower(k)] = s
	}
	return out, nil
}
