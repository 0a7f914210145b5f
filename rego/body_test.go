package rego_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/rampart-mesh/rampart/rego"
)

// TestBodyPolicy: the proxy buffers bodies only when they are turned on (engine
// option or the owning bundle's manifest) and the compiled policy reads a body field.
func TestBodyPolicy(t *testing.T) {
	for _, c := range []struct {
		name, bundle string
		opts         []rego.Option
		want         rego.BodyPolicy
	}{
		{"manifest opt-in", "testdata/bundles/body", nil, rego.BodyPolicy{Read: true, MaxBytes: 1024}},
		{"manifest size wins", "testdata/bundles/body", []rego.Option{rego.WithRequestBody(4096)}, rego.BodyPolicy{Read: true, MaxBytes: 1024}},
		{"option, policy reads truncated_body", "testdata/bundles/failopen", []rego.Option{rego.WithRequestBody(0)}, rego.BodyPolicy{Read: true, MaxBytes: rego.DefaultRequestBodyBytes}},
		{"option capped", "testdata/bundles/failopen", []rego.Option{rego.WithRequestBody(1 << 30)}, rego.BodyPolicy{Read: true, MaxBytes: rego.MaxRequestBodyBytes}},
		{"reads body, not turned on", "testdata/bundles/failopen", nil, rego.BodyPolicy{}},
		{"turned on, policy reads no body", starwarsDir, []rego.Option{rego.WithRequestBody(0)}, rego.BodyPolicy{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEngine(t, c.opts...)
			if got := e.BodyPolicy(); got != (rego.BodyPolicy{}) {
				t.Errorf("before any bundle: %+v", got)
			}
			if err := e.LoadDir(context.Background(), "main", c.bundle); err != nil {
				t.Fatal(err)
			}
			if got := e.BodyPolicy(); got != c.want {
				t.Errorf("BodyPolicy() = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestBodyInput checks the body members of the input as OPA-Envoy builds them:
// present only when a body was read, text as body, bytes as raw_body (base64).
func TestBodyInput(t *testing.T) {
	req := func(body []byte, ct string) *rego.Input {
		return &rego.Input{Request: &rego.Request{Method: "POST", Path: "/", Body: body,
			Headers: map[string]string{"content-type": ct}}}
	}
	for _, c := range []struct {
		name string
		in   *rego.Input
		want string // the input's JSON, less attributes.source/destination
	}{
		{"no body read", req(nil, "application/json"),
			`{"attributes":{"destination":{},"request":{"http":{"headers":{"content-type":"application/json"},"method":"POST","path":"/"}},"source":{}},"parsed_path":[""],"parsed_query":{}}`},
		{"empty body", req([]byte{}, "application/json"),
			`{"attributes":{"destination":{},"request":{"http":{"headers":{"content-type":"application/json"},"method":"POST","path":"/"}},"source":{}},"parsed_body":null,"parsed_path":[""],"parsed_query":{},"truncated_body":false}`},
		{"json", req([]byte(`{"a":[1,"x"]}`), "application/json; charset=utf-8"),
			`{"attributes":{"destination":{},"request":{"http":{"body":"{\"a\":[1,\"x\"]}","headers":{"content-type":"application/json; charset=utf-8"},"method":"POST","path":"/"}},"source":{}},"parsed_body":{"a":[1,"x"]},"parsed_path":[""],"parsed_query":{},"truncated_body":false}`},
		{"binary", req([]byte{0xff, 0}, "application/octet-stream"),
			`{"attributes":{"destination":{},"request":{"http":{"headers":{"content-type":"application/octet-stream"},"method":"POST","path":"/","rawBody":"/wA=","raw_body":"/wA="}},"source":{}},"parsed_body":null,"parsed_path":[""],"parsed_query":{},"truncated_body":false}`},
		{"multipart json part", req([]byte("--b\r\nContent-Disposition: form-data; name=\"m\"\r\nContent-Type: application/json\r\n\r\n{\"k\":true}\r\n--b\r\nContent-Disposition: form-data; name=\"m\"\r\n\r\ntwo\r\n--b--\r\n"), "multipart/form-data; boundary=b"),
			`{"attributes":{"destination":{},"request":{"http":{"body":"--b\r\nContent-Disposition: form-data; name=\"m\"\r\nContent-Type: application/json\r\n\r\n{\"k\":true}\r\n--b\r\nContent-Disposition: form-data; name=\"m\"\r\n\r\ntwo\r\n--b--\r\n","headers":{"content-type":"multipart/form-data; boundary=b"},"method":"POST","path":"/"}},"source":{}},"parsed_body":{"m":[{"k":true},"two"]},"parsed_path":[""],"parsed_query":{},"truncated_body":false}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(mustJSON(t, c.in.AST()))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("input\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v ast.Value) any {
	t.Helper()
	j, err := ast.JSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestDecisionLogChanges: the decision log records what an allow changed in the
// forwarded request and response, and the dynamic metadata, with masked header
// values masked.
func TestDecisionLogChanges(t *testing.T) {
	var buf bytes.Buffer
	e := newEngine(t, rego.WithDecisionLog(&buf), rego.WithMaskedHeaders("x-user"))
	if err := e.LoadDir(context.Background(), "main", "testdata/bundles/changes"); err != nil {
		t.Fatal(err)
	}
	d := e.Decide(context.Background(), &rego.Input{Request: &rego.Request{Method: "GET", Path: "/",
		Headers: map[string]string{"x-case": "good"}}})
	if !d.Allowed {
		t.Fatalf("not allowed: %s", d.Reason)
	}
	var line struct {
		Rampart map[string]any `json:"rampart"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(line.Rampart)
	want := `{"allowed":true,"dynamic_metadata":{"level":3,"user":"alice"},` +
		`"headers":[{"name":"x-user","value":"\u003cmasked\u003e"},{"name":"x-groups","value":"a"},{"name":"x-groups","value":"b"}],` +
		`"query_parameters_to_remove":["token"],"query_parameters_to_set":[{"name":"tag","value":"x"},{"name":"tag","value":"y"},{"name":"user","value":"alice"}],` +
		`"request_headers_to_remove":["authorization"],"response_headers_to_add":[{"name":"x-served-by","value":"rampart"}]}`
	if string(got) != want {
		t.Errorf("logged\n got %s\nwant %s", got, want)
	}
	if d.Headers[0].Value != "alice" {
		t.Error("masking the log changed the decision")
	}
}

// FuzzBody feeds arbitrary bodies and content types through the body parser and a
// policy reading parsed_body: never a panic, the input always converts to JSON, a
// body that did not parse denies with the reason, and a cut body is never parsed.
func FuzzBody(f *testing.F) {
	f.Add([]byte(`{"ship": "tiefighter"}`), "application/json", false)
	f.Add([]byte(`ship=tiefighter&a=%zz`), "application/x-www-form-urlencoded", false)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"ship\"\r\n\r\ntiefighter\r\n--b--\r\n"), "multipart/form-data; boundary=b", false)
	f.Add([]byte(`{"ship": "tiefighter"}`), "application/problem+json", true)
	f.Add([]byte{0xff, 0xfe}, "multipart/form-data; boundary=\"", false)
	e := newEngine(f)
	if err := e.LoadDir(context.Background(), "main", "testdata/bundles/body"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, ct string, truncated bool) {
		in := &rego.Input{Request: &rego.Request{Method: "POST", Path: "/", Body: body, BodyTruncated: truncated,
			Headers: map[string]string{"content-type": ct}}}
		if _, err := ast.JSON(in.AST()); err != nil {
			t.Fatalf("input does not convert to JSON: %v", err)
		}
		d := e.Decide(context.Background(), in)
		if strings.HasPrefix(d.Reason, rego.ErrBadInput.Error()) && d.Allowed {
			t.Fatalf("allowed a body that did not parse: %+v", d)
		}
		if truncated && d.Allowed && !bytes.Equal(body, []byte("land please")) && !bytes.Equal(body, []byte{0xff, 0}) {
			t.Fatalf("a cut body was parsed and allowed: %q %q", body, ct)
		}
	})
}

// TestParsedPath checks the engine's half of the package doc's slash-rule table:
// the normalized path the proxy hands over, and the parsed_path OPA-Envoy derives.
func TestParsedPath(t *testing.T) {
	for path, want := range map[string]string{
		"/a%2Fb":        `["a","b"]`,
		"/a%5Cb":        `["a\\b"]`,
		"/a/b":          `["a","b"]`,
		"/a%252Fb":      `["a%2Fb"]`,
		"/":             `[""]`,
		"/a/":           `["a",""]`,
		"/v1/x?q=%2F":   `["v1","x"]`,
		"//lead/%7Eme?": `["lead","~me"]`,
	} {
		in := &rego.Input{Request: &rego.Request{Method: "GET", Path: path}}
		m := mustJSON(t, in.AST()).(map[string]any)
		got, _ := json.Marshal(m["parsed_path"])
		if string(got) != want {
			t.Errorf("%s: parsed_path %s, want %s", path, got, want)
		}
	}
}
