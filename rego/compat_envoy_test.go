package rego_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// This file is the reference side of TestOPAEnvoyCompat: the input OPA-Envoy's
// envoyauth builds from a v3 CheckRequest, and how it reads a decision, written here
// from its documented and observed behaviour (not from Rampart's code, which it
// checks):
//
//   - the CheckRequest becomes a map of its populated fields under their JSON
//     names (camelCase), so empty strings and maps are absent;
//   - version {"ext_authz": "v3", "encoding": "protojson"};
//   - parsed_path: the path before "?" is unescaped as a whole, then the leading
//     slashes are trimmed and it is split on "/"; parsed_query: url.ParseQuery of
//     the rest; either failing fails the Check;
//   - parsed_body / truncated_body (body parsing on): a body cut by Envoy
//     (x-envoy-auth-partial-body: true) is truncated; by content type (substring
//     tests, in order) application/json, application/grpc (not parsed here),
//     application/x-www-form-urlencoded, multipart/form-data; an empty body, or a
//     content type none of these, is null; a body shorter than Content-Length is
//     truncated; a parse failure fails the Check.

// envoyInput builds OPA-Envoy's input from a CheckRequest in proto JSON.
func envoyInput(cr map[string]any) (map[string]any, error) {
	input := protoFields(cr, "").(map[string]any)
	http, _ := dig(input, "attributes", "request", "http").(map[string]any)
	input["version"] = map[string]any{"ext_authz": "v3", "encoding": "protojson"}
	path, _ := http["path"].(string)
	rawPath, rawQuery, _ := strings.Cut(path, "?")
	decoded, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, err
	}
	segs := strings.Split(strings.TrimLeft(decoded, "/"), "/")
	input["parsed_path"] = toAny(segs)
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	input["parsed_query"] = toAny(map[string][]string(q))
	body, truncated, err := envoyBody(http)
	if err != nil {
		return nil, err
	}
	input["parsed_body"], input["truncated_body"] = body, truncated
	return input, nil
}

// protoFields renames keys to their proto JSON names and drops unpopulated fields;
// the keys of map fields (headers, labels, ...) are data and kept as they are.
func protoFields(v any, parent string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			name := k
			if !isMapField(parent) {
				name = camel(k)
			}
			val = protoFields(val, name)
			if s, ok := val.(string); ok && s == "" {
				continue
			}
			if m, ok := val.(map[string]any); ok && len(m) == 0 {
				continue
			}
			out[name] = val
		}
		return out
	case float64:
		return json.Number(strconv.FormatFloat(x, 'f', -1, 64))
	}
	return v
}

func isMapField(name string) bool {
	return name == "headers" || name == "labels" || name == "contextExtensions"
}

func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func toAny(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// envoyBody returns parsed_body and truncated_body.
func envoyBody(http map[string]any) (any, bool, error) {
	headers, _ := http["headers"].(map[string]any)
	h := func(k string) (string, bool) { s, ok := headers[k].(string); return s, ok }
	if v, _ := h("x-envoy-auth-partial-body"); v == "true" {
		return nil, true, nil
	}
	ct, ok := h("content-type")
	if !ok {
		return nil, false, nil
	}
	body, _ := http["body"].(string)
	if body == "" {
		if raw, ok := http["rawBody"].(string); ok {
			b, err := base64.StdEncoding.DecodeString(raw)
			if err != nil {
				return nil, false, err
			}
			body = string(b)
		}
	}
	var kind string
	switch {
	case strings.Contains(ct, "application/json"):
		kind = "json"
	case strings.Contains(ct, "application/grpc"):
		return nil, false, nil
	case strings.Contains(ct, "application/x-www-form-urlencoded"):
		kind = "form"
	case strings.Contains(ct, "multipart/form-data"):
		kind = "multipart"
	default:
		return nil, false, nil
	}
	if body == "" {
		return nil, false, nil
	}
	if cl, ok := h("content-length"); ok {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil {
			return nil, false, err
		}
		if n > int64(len(body)) {
			return nil, true, nil
		}
	}
	v, err := parseEnvoyBody(kind, ct, body)
	return v, false, err
}

func parseEnvoyBody(kind, ct, body string) (any, error) {
	switch kind {
	case "json":
		return decodeJSON(body)
	case "form":
		q, err := url.ParseQuery(body)
		return toAny(map[string][]string(q)), err
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, err
	}
	boundary, ok := params["boundary"]
	if !ok {
		return nil, nil
	}
	out := map[string]any{}
	r := multipart.NewReader(strings.NewReader(body), boundary)
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if p.FormName() == "" {
			continue
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		var v any = string(b)
		if strings.Contains(p.Header.Get("Content-Type"), "application/json") {
			if v, err = decodeJSON(string(b)); err != nil {
				return nil, err
			}
		}
		list, _ := out[p.FormName()].([]any)
		out[p.FormName()] = append(list, v)
	}
}

func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

// readEnvoyDecision reads a decision value as OPA-Envoy's EvalResult getters do.
func readEnvoyDecision(v any) (outcome, error) {
	switch d := v.(type) {
	case bool:
		o := outcome{Allowed: d}
		if !d {
			o.Status = http.StatusForbidden
		}
		return o, nil
	case map[string]any:
		return readEnvoyObject(d)
	}
	return outcome{}, fmt.Errorf("illegal decision %T", v)
}

func readEnvoyObject(d map[string]any) (outcome, error) {
	allowed, ok := d["allowed"].(bool)
	if !ok {
		return outcome{}, errors.New("allowed")
	}
	o := outcome{Allowed: allowed}
	add := func(kind string, fs []string) {
		for _, f := range fs {
			o.Fields = append(o.Fields, kind+" "+f)
		}
	}
	hs, err := envoyHeaders(d["headers"])
	if err != nil {
		return o, err
	}
	add("header", hs)
	if !allowed {
		if err := envoyDenyResponse(d, &o); err != nil {
			return o, err
		}
	} else {
		if err := envoyAllowChanges(d, add); err != nil {
			return o, err
		}
	}
	if m, ok := d["dynamic_metadata"]; ok {
		if _, isObj := m.(map[string]any); !isObj {
			return o, errors.New("dynamic_metadata")
		}
		b, _ := json.Marshal(m)
		o.Meta = string(b)
	}
	sort.Strings(o.Fields)
	return o, nil
}

func envoyDenyResponse(d map[string]any, o *outcome) error {
	o.Status = http.StatusForbidden
	if s, ok := d["http_status"]; ok {
		n, isNum := s.(json.Number)
		code, err := n.Int64()
		if !isNum || err != nil || http.StatusText(int(code)) == "" {
			return errors.New("http_status")
		}
		o.Status = int(code)
	}
	if b, ok := d["body"]; ok {
		s, isStr := b.(string)
		if !isStr {
			return errors.New("body")
		}
		o.Body = &s
	}
	return nil
}

func envoyAllowChanges(d map[string]any, add func(string, []string)) error {
	rh, err := envoyHeaders(d["response_headers_to_add"])
	if err != nil {
		return err
	}
	add("response-header", rh)
	for key, kind := range map[string]string{"request_headers_to_remove": "header-remove", "query_parameters_to_remove": "query-remove"} {
		v, ok := d[key]
		if !ok {
			continue
		}
		list, isList := v.([]any)
		if !isList {
			return errors.New(key)
		}
		for _, x := range list {
			s, isStr := x.(string)
			if !isStr {
				return errors.New(key)
			}
			if kind == "header-remove" {
				s = strings.ToLower(s) // Envoy header names are lower case
			}
			add(kind, []string{s})
		}
	}
	if v, ok := d["query_parameters_to_set"]; ok {
		m, isObj := v.(map[string]any)
		if !isObj {
			return errors.New("query_parameters_to_set")
		}
		for k, val := range m {
			vals, err := stringOrList(val)
			if err != nil {
				return err
			}
			for _, s := range vals {
				add("query-set", []string{k + ": " + s})
			}
		}
	}
	return nil
}

// envoyHeaders reads an object or an array of objects of string or string-array
// values, as "name: value" lines (names lower-cased, as Envoy sends them on).
func envoyHeaders(v any) ([]string, error) {
	var objs []map[string]any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		objs = append(objs, x)
	case []any:
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, errors.New("headers element")
			}
			objs = append(objs, m)
		}
	default:
		return nil, errors.New("headers")
	}
	var out []string
	for _, m := range objs {
		for k, val := range m {
			vals, err := stringOrList(val)
			if err != nil {
				return nil, err
			}
			for _, s := range vals {
				out = append(out, strings.ToLower(k)+": "+s)
			}
		}
	}
	return out, nil
}

func stringOrList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("list element")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New("value")
}
