package inbound_test

import (
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// allowCase is one allow decision with changes, applied to GET target with the
// client's fields hdr; the app must see uri and the fields in want (nil: absent),
// the client the response fields in resp.
type allowCase struct {
	name   string
	edit   rego.Decision
	target string
	hdr    map[string]string
	uri    string
	want   map[string][]string
	resp   map[string]string
}

var allowCases = []allowCase{
	{name: "headers replace", edit: rego.Decision{Headers: []rego.Field{{Name: "x-user", Value: "alice"}}},
		target: "/public/a", hdr: map[string]string{"X-User": "mallory"}, uri: "/public/a",
		want: map[string][]string{"X-User": {"alice"}}},
	{name: "headers array", edit: rego.Decision{Headers: []rego.Field{{Name: "x-tag", Value: "a"}, {Name: "x-tag", Value: "b"}}},
		target: "/public/a", uri: "/public/a", want: map[string][]string{"X-Tag": {"a", "b"}}},
	{name: "remove", edit: rego.Decision{RequestHeadersToRemove: []string{"authorization"}},
		target: "/public/a", hdr: map[string]string{"Authorization": "Bearer x", "X-Keep": "1"}, uri: "/public/a",
		want: map[string][]string{"Authorization": nil, "X-Keep": {"1"}}},
	{name: "set then remove", edit: rego.Decision{Headers: []rego.Field{{Name: "x-a", Value: "1"}}, RequestHeadersToRemove: []string{"x-a"}},
		target: "/public/a", uri: "/public/a", want: map[string][]string{"X-A": nil}},
	{name: "query set", edit: rego.Decision{QueryParametersToSet: []rego.Field{{Name: "a", Value: "9"}}},
		target: "/public/q?a=1&b=%2F&a=2", uri: "/public/q?a=9&b=%2F"},
	{name: "query set new", edit: rego.Decision{QueryParametersToSet: []rego.Field{{Name: "c", Value: "x y&z"}}},
		target: "/public/q?a=1", uri: "/public/q?a=1&c=x+y%26z"},
	{name: "query remove", edit: rego.Decision{QueryParametersToRemove: []string{"token"}},
		target: "/public/q?token=s3cret&b=2", uri: "/public/q?b=2"},
	{name: "query remove last", edit: rego.Decision{QueryParametersToRemove: []string{"token"}},
		target: "/public/q?token=s3cret", uri: "/public/q"},
	{name: "response add", edit: rego.Decision{ResponseHeadersToAdd: []rego.Field{{Name: "x-policy", Value: "yes"}}},
		target: "/public/a", uri: "/public/a", resp: map[string]string{"X-Policy": "yes", "X-App": "1"}},
	{name: "dynamic metadata only", edit: rego.Decision{DynamicMetadata: map[string]any{"k": "v"}},
		target: "/public/a?x=1", uri: "/public/a?x=1"},
}

// TestAllowEdits checks every allow-side field live, over HTTP/1.1 and h2c: the real
// engine allows, the decision carries the changes, and the app (Go's own server)
// receives exactly the changed request while the client receives the added fields.
func TestAllowEdits(t *testing.T) {
	for _, proto := range []string{"h1", "h2"} {
		for _, c := range allowCases {
			t.Run(proto+"/"+c.name, func(t *testing.T) {
				a := startEcho(t, false)
				edit := c.edit
				rec := &recorder{e: engine(t, "testdata/policy"), edit: func(d *rego.Decision) {
					d.Headers, d.RequestHeadersToRemove, d.ResponseHeadersToAdd = edit.Headers, edit.RequestHeadersToRemove, edit.ResponseHeadersToAdd
					d.QueryParametersToSet, d.QueryParametersToRemove, d.DynamicMetadata = edit.QueryParametersToSet, edit.QueryParametersToRemove, edit.DynamicMetadata
				}}
				addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr})
				resp := get(t, proto, addr, c.target, c.hdr)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				for k, v := range c.resp {
					if got := resp.Header.Get(k); got != v {
						t.Errorf("response %s: %q, want %q", k, got, v)
					}
				}
				seen := a.take()
				if len(seen) != 1 {
					t.Fatalf("app saw %d requests", len(seen))
				}
				if seen[0].URI != c.uri {
					t.Errorf("app saw %s, want %s", seen[0].URI, c.uri)
				}
				for k, v := range c.want {
					if got := seen[0].Header.Values(k); !slices.Equal(got, v) {
						t.Errorf("app saw %s %q, want %q", k, got, v)
					}
				}
				if in := rec.take(); len(in) != 1 || in[0].Request.Path != c.target {
					t.Errorf("policy saw %+v, want the client's target %s", in, c.target)
				}
			})
		}
	}
}

// TestAllowEditsRefused checks that a decision changing what the proxy owns (framing,
// routing, hop-by-hop, proxy-set fields) or carrying an unsendable field is not
// applied in part: the request fails closed with 500 and the app sees nothing.
func TestAllowEditsRefused(t *testing.T) {
	bad := map[string]rego.Decision{
		"content-length":    {Headers: []rego.Field{{Name: "content-length", Value: "0"}}},
		"transfer-encoding": {Headers: []rego.Field{{Name: "transfer-encoding", Value: "chunked"}}},
		"host":              {Headers: []rego.Field{{Name: "host", Value: "evil"}}},
		"connection":        {Headers: []rego.Field{{Name: "connection", Value: "close"}}},
		"te":                {Headers: []rego.Field{{Name: "te", Value: "trailers"}}},
		"xfcc":              {Headers: []rego.Field{{Name: "x-forwarded-client-cert", Value: "URI=spiffe://x"}}},
		"pseudo":            {Headers: []rego.Field{{Name: ":path", Value: "/admin"}}},
		"crlf value":        {Headers: []rego.Field{{Name: "x-a", Value: "1\r\nx-b: 2"}}},
		"space in name":     {Headers: []rego.Field{{Name: "x a", Value: "1"}}},
		"remove host":       {RequestHeadersToRemove: []string{"host"}},
		"remove length":     {RequestHeadersToRemove: []string{"Content-Length"}},
		"response framing":  {ResponseHeadersToAdd: []rego.Field{{Name: "transfer-encoding", Value: "chunked"}}},
		"response length":   {ResponseHeadersToAdd: []rego.Field{{Name: "content-length", Value: "1"}}},
		"query NUL":         {QueryParametersToSet: []rego.Field{{Name: "a", Value: "\x00"}}},
		"query no name":     {QueryParametersToSet: []rego.Field{{Name: "", Value: "1"}}},
	}
	for _, proto := range []string{"h1", "h2"} {
		for name, edit := range bad {
			t.Run(proto+"/"+name, func(t *testing.T) {
				a := startEcho(t, false)
				rec := &recorder{e: engine(t, "testdata/policy"), edit: func(d *rego.Decision) {
					d.Headers, d.RequestHeadersToRemove, d.ResponseHeadersToAdd = edit.Headers, edit.RequestHeadersToRemove, edit.ResponseHeadersToAdd
					d.QueryParametersToSet = edit.QueryParametersToSet
				}}
				addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr})
				if resp := get(t, proto, addr, "/public/a", nil); resp.StatusCode != 500 {
					t.Errorf("status %d, want 500", resp.StatusCode)
				}
				if seen := a.take(); len(seen) != 0 {
					t.Errorf("app saw %+v", seen)
				}
			})
		}
	}
}

// TestAllowHeadersFromRego: the same change decided by a real Rego object decision.
func TestAllowHeadersFromRego(t *testing.T) {
	a := startEcho(t, false)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/allowedits"), Mode: inbound.Permissive, Upstream: a.addr})
	for _, proto := range []string{"h1", "h2"} {
		if resp := get(t, proto, addr, "/public/a", map[string]string{"X-User": "mallory"}); resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", proto, resp.StatusCode)
		}
		seen := a.take()
		if len(seen) != 1 || !slices.Equal(seen[0].Header.Values("X-User"), []string{"alice"}) {
			t.Errorf("%s: app saw %+v, want x-user alice only", proto, seen)
		}
	}
}

// get sends GET target with fields hdr over h1 or h2 (prior knowledge) and returns
// the response with its body read.
func get(t *testing.T, proto, addr, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "deathstar"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := h1Client(t)
	if proto == "h2" {
		c = h2cClient(t)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestAmbiguousQueryRefused: a query parsers could split differently (";" as a
// separator, a bad escape, an escaped NUL) is refused with 400 before the policy
// runs, over HTTP/1.1 and h2c, so the policy and the app never see different
// parameters.
func TestAmbiguousQueryRefused(t *testing.T) {
	a := startEcho(t, false)
	rec := &recorder{e: engine(t, "testdata/policy")}
	addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr})
	for _, q := range []string{"a=1;b=2", "a=%zz", "a=%00", "a=%4"} {
		st, _ := exchangeRaw(t, addr, []byte("GET /public/a?"+q+" HTTP/1.1\r\nHost: deathstar\r\n\r\n"))
		if len(st) != 1 || st[0] != 400 {
			t.Errorf("h1 ?%s: statuses %v, want [400]", q, st)
		}
		if got := h2Status(t, addr, [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "deathstar"}, {":path", "/public/a?" + q}}); got != "400" {
			t.Errorf("h2 ?%s: status %s, want 400", q, got)
		}
	}
	if in, seen := rec.take(), a.take(); len(in) != 0 || len(seen) != 0 {
		t.Errorf("policy saw %d, app %d requests", len(in), len(seen))
	}
}
