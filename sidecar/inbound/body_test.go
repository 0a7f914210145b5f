package inbound_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/httpx"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// Bodies in these tests are read up to bodyLimit bytes for the policy and refused
// past hardCap.
const bodyLimit, hardCap = 64, 1024

// bodyCase is one request with a body: how it is sent, what the policy must see
// (the first bodyLimit bytes, de-chunked, and whether it was cut) and the status.
type bodyCase struct {
	name    string
	proto   string // "h1" (raw bytes), "h2" (known length), "h2-stream" (unknown length)
	ctype   string
	body    string
	chunks  []string // h1: sent chunked in these pieces instead of with Content-Length
	status  int
	noInput bool // refused before the policy
}

func bodyCases() []bodyCase {
	json := `{"action":"land","ship":"tie"}`
	long := `{"action":"land","cargo":"` + strings.Repeat("x", 100) + `"}`
	big := strings.Repeat("y", hardCap+1)
	return []bodyCase{
		{name: "json", proto: "h1", ctype: "application/json", body: json, status: 200},
		{name: "form", proto: "h1", ctype: "application/x-www-form-urlencoded", body: "action=land&ship=tie+fighter", status: 200},
		{name: "chunked", proto: "h1", ctype: "application/json", chunks: []string{`{"action"`, `:"land",`, `"ship":"tie"}`}, status: 200},
		{name: "empty", proto: "h1", body: "", status: 200},
		{name: "over limit", proto: "h1", ctype: "application/json", body: long, status: 200},
		{name: "chunked over limit", proto: "h1", ctype: "application/json", chunks: []string{long[:50], long[50:70], long[70:]}, status: 200},
		{name: "binary", proto: "h1", ctype: "application/octet-stream", body: "\x00\x01\xff\r\n\x00", status: 200},
		{name: "over hard cap", proto: "h1", body: big, status: 413, noInput: true},
		{name: "chunked over hard cap", proto: "h1", chunks: []string{big[:600], big[600:]}, status: 413},
		{name: "json", proto: "h2", ctype: "application/json", body: json, status: 200},
		{name: "over limit", proto: "h2", ctype: "application/json", body: long, status: 200},
		{name: "stream over limit", proto: "h2-stream", ctype: "application/json", body: long, status: 200},
		{name: "stream short", proto: "h2-stream", ctype: "application/json", body: json, status: 200},
		{name: "over hard cap", proto: "h2", body: big, status: 413, noInput: true},
		{name: "stream over hard cap", proto: "h2-stream", body: big, status: 413},
	}
}

// TestBodies checks, live, that a policy reading bodies gets the body's first
// bodyLimit bytes (de-chunked; truncated_body set when cut; non-nil when empty),
// that the app gets the whole body byte for byte, and that a body past the hard cap
// is refused with 413 before it reaches the app.
func TestBodies(t *testing.T) {
	for _, c := range bodyCases() {
		for _, h1app := range []bool{false, true} {
			if h1app && c.proto == "h1" {
				continue
			}
			testBody(t, c, h1app)
		}
	}
}

// testBody runs one bodyCase; h1app: the app speaks only HTTP/1.1 (h2 downgraded).
func testBody(t *testing.T, c bodyCase, h1app bool) {
	name := c.proto + "/" + c.name
	if h1app {
		name += "/to-http1-app"
	}
	t.Run(name, func(t *testing.T) {
		a := startEcho(t, h1app)
		rec := &recorder{e: engine(t, "testdata/policy"), body: &rego.BodyPolicy{Read: true, MaxBytes: bodyLimit}}
		addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr,
			HTTP: httpx.Config{MaxBodyBytes: hardCap}})
		body := c.body + strings.Join(c.chunks, "")
		if status := postBody(t, c, addr); status != c.status {
			t.Fatalf("status %d, want %d", status, c.status)
		}
		seen, inputs := a.take(), rec.take()
		if c.status != 200 {
			if len(seen) != 0 {
				t.Errorf("app saw %d requests", len(seen))
			}
			if c.noInput && len(inputs) != 0 {
				t.Errorf("policy ran on a refused request")
			}
			return
		}
		if len(seen) != 1 || !bytes.Equal(seen[0].Body, []byte(body)) {
			t.Fatalf("app got %+v, want body %q", seen, body)
		}
		if len(inputs) != 1 {
			t.Fatalf("policy ran %d times", len(inputs))
		}
		in := inputs[0].Request
		want := body[:min(len(body), bodyLimit)]
		if in.Body == nil || string(in.Body) != want || in.BodyTruncated != (len(body) > bodyLimit) {
			t.Errorf("policy saw %q (nil %v) truncated %v, want %q truncated %v", in.Body, in.Body == nil, in.BodyTruncated, want, len(body) > bodyLimit)
		}
	})
}

// TestBodyNotRead: a policy that does not read bodies gets none (absent, not empty)
// and the body still reaches the app.
func TestBodyNotRead(t *testing.T) {
	a := startEcho(t, false)
	rec := &recorder{e: engine(t, "testdata/policy"), body: &rego.BodyPolicy{}}
	addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr})
	for _, proto := range []string{"h1", "h2"} {
		if st := postBody(t, bodyCase{proto: proto, body: `{"a":1}`}, addr); st != 200 {
			t.Fatalf("%s: status %d", proto, st)
		}
		if in := rec.take(); len(in) != 1 || in[0].Request.Body != nil || in[0].Request.BodyTruncated {
			t.Errorf("%s: policy saw a body: %+v", proto, in)
		}
		if seen := a.take(); len(seen) != 1 || string(seen[0].Body) != `{"a":1}` {
			t.Errorf("%s: app saw %+v", proto, seen)
		}
	}
}

// TestBodyDenyKeepsConnection: a denied request whose body was read whole leaves
// the connection usable (the next pipelined request is answered); one whose body
// was cut closes it, since the rest of the body would be read as a request.
func TestBodyDenyKeepsConnection(t *testing.T) {
	a := startEcho(t, false)
	rec := &recorder{e: engine(t, "testdata/policy"), body: &rego.BodyPolicy{Read: true, MaxBytes: bodyLimit}}
	addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr})
	next := "GET /public/x HTTP/1.1\r\nHost: deathstar\r\n\r\n"
	st, _ := exchangeRaw(t, addr, []byte("PUT /v1/exhaust-port HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 4\r\n\r\nboom"+next))
	if len(st) != 2 || st[0] != 403 || st[1] != 200 {
		t.Errorf("whole body: statuses %v, want [403 200]", st)
	}
	cut := strings.Repeat("z", bodyLimit+10)
	st, _ = exchangeRaw(t, addr, []byte("PUT /v1/exhaust-port HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 74\r\n\r\n"+cut+next))
	if len(st) != 1 || st[0] != 403 {
		t.Errorf("cut body: statuses %v, want [403]", st)
	}
	if seen := a.take(); len(seen) != 1 || seen[0].URI != "/public/x" {
		t.Errorf("app saw %+v", seen)
	}
}

// TestBodyExpectContinue: a client waiting for "100 Continue" gets it before the
// proxy reads its body for the policy, and only once.
func TestBodyExpectContinue(t *testing.T) {
	a := startEcho(t, false)
	rec := &recorder{e: engine(t, "testdata/policy"), body: &rego.BodyPolicy{Read: true, MaxBytes: bodyLimit}}
	addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr})
	c := dialT(t, addr)
	io.WriteString(c, "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
	br := bufioReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q (%v), want 100 Continue", line, err)
	}
	br.ReadString('\n')
	io.WriteString(c, "{}")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("response %v %v", resp, err)
	}
	if seen := a.take(); len(seen) != 1 || string(seen[0].Body) != "{}" {
		t.Errorf("app saw %+v", seen)
	}
}

// TestBodyPolicyFromRego runs a real policy on input.parsed_body and
// input.truncated_body: a whole JSON body asking to land is allowed, another is
// denied, and a cut one is denied although its first bytes ask to land.
func TestBodyPolicyFromRego(t *testing.T) {
	e := engine(t, "testdata/bodypolicy")
	p := e.BodyPolicy()
	if !p.Read {
		t.Fatalf("BodyPolicy = %+v: the bundle opts in and its policy reads parsed_body", p)
	}
	a := startEcho(t, false)
	addr := startProxy(t, inbound.Options{Authorizer: e, Mode: inbound.Permissive, Upstream: a.addr})
	cut := `{"action":"land","cargo":"` + strings.Repeat("x", p.MaxBytes) + `"}`
	for _, c := range []bodyCase{
		{name: "land", body: `{"action":"land"}`, status: 200},
		{name: "fire", body: `{"action":"fire"}`, status: 403},
		{name: "cut", body: cut, status: 403},
		{name: "chunked land", chunks: []string{`{"action":`, `"land"}`}, status: 200},
	} {
		for _, proto := range []string{"h1", "h2"} {
			if c.chunks != nil && proto == "h2" {
				continue
			}
			c.proto, c.ctype = proto, "application/json"
			if st := postBody(t, c, addr); st != c.status {
				t.Errorf("%s %s: status %d, want %d", proto, c.name, st, c.status)
			}
		}
	}
}

// TestUnauthenticatedPeerHasNoPrincipal: a PERMISSIVE plaintext peer reaches the
// policy with no source.principal (inbound passes "" and the engine leaves the field
// out), so the usual "deny if not input.attributes.source.principal" denies it.
func TestUnauthenticatedPeerHasNoPrincipal(t *testing.T) {
	e := engine(t, "testdata/principal")
	rec := &recorder{e: e}
	a := startEcho(t, false)
	addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr})
	status := get(t, "h1", addr, "/public/a", nil).StatusCode
	in := rec.take()
	if len(in) != 1 || in[0].Source.Principal != "" || in[0].Source.Address == "" {
		t.Fatalf("policy input %+v, want no principal and the peer's address", in)
	}
	if d := e.Decide(context.Background(), &rego.Input{Request: &rego.Request{Method: "GET", Path: "/"}}); d.Allowed {
		t.Fatal("the engine allowed an input without source.principal: the field must be absent, not empty")
	}
	if status != 403 || len(a.take()) != 0 {
		t.Errorf("unauthenticated peer: status %d, want 403 and nothing forwarded", status)
	}
}

// postBody POSTs c's body to /v1/request-landing (allowed by testdata/policy) and
// returns the status.
func postBody(t *testing.T, c bodyCase, addr string) int {
	t.Helper()
	if c.proto == "h1" {
		head := "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nConnection: close\r\n"
		if c.ctype != "" {
			head += "Content-Type: " + c.ctype + "\r\n"
		}
		var raw string
		if c.chunks == nil {
			raw = head + "Content-Length: " + itoa(len(c.body)) + "\r\n\r\n" + c.body
		} else {
			raw = head + "Transfer-Encoding: chunked\r\n\r\n"
			for _, ch := range c.chunks {
				raw += strconvHex(len(ch)) + "\r\n" + ch + "\r\n"
			}
			raw += "0\r\n\r\n"
		}
		st, all := exchangeRaw(t, addr, []byte(raw))
		if len(st) != 1 {
			t.Fatalf("statuses %v: %q", st, all)
		}
		return st[0]
	}
	var body io.Reader = strings.NewReader(c.body)
	if c.proto == "h2-stream" {
		body = io.MultiReader(body) // no length known: sent without content-length
	}
	req, err := http.NewRequest("POST", "http://"+addr+"/v1/request-landing", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "deathstar"
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	resp, err := h2cClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
