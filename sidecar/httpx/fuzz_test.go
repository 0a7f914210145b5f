package httpx_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

// FuzzReadRequest checks that the parser never panics and that what the proxy
// forwards parses back to the same request: a second parser (the app, another proxy)
// reading the forwarded bytes sees exactly what was authorized.
func FuzzReadRequest(f *testing.F) {
	for _, c := range rawcase.Load(f, "testdata/requests") {
		f.Add(c.Raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, status := forward(raw, httpx.Config{MaxBodyBytes: 1 << 16})
		if status != "ok" {
			return
		}
		again, status := forward([]byte(out), httpx.Config{MaxBodyBytes: 1 << 16})
		if status != "ok" {
			t.Fatalf("forwarded request refused on re-parse (%s):\n%q", status, out)
		}
		if again != out {
			t.Fatalf("re-parse changed the request:\n%q\n%q", out, again)
		}
	})
}

// FuzzNormalizePath checks that normalization is idempotent and leaves no dot
// segments, empty segments or "..;" segments behind, under every slash rule.
func FuzzNormalizePath(f *testing.F) {
	for _, l := range readLines(f, "testdata/normalize.txt") {
		f.Add(l[0], uint8(rules[l[1]]))
	}
	f.Fuzz(func(t *testing.T, target string, rule uint8) {
		r := httpx.SlashRule(rule % 3)
		p, _, err := httpx.NormalizeTarget(target, r)
		if err != nil {
			return
		}
		q, _, err := httpx.NormalizeTarget(p, r)
		if err != nil || q != p {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", target, p, q, err)
		}
		if strings.Contains(p, "//") {
			t.Fatalf("%q normalized to %q, which contains //", target, p)
		}
		for _, bad := range []string{"/./", "/../", "\\", "%2e", "%2E", "#"} {
			if strings.Contains(p+"/", bad) {
				t.Fatalf("%q normalized to %q, which contains %q", target, p, bad)
			}
		}
		if strings.IndexByte(p, 0) >= 0 {
			t.Fatalf("%q normalized to %q", target, p)
		}
	})
}

// FuzzReadResponse checks that the response parser never panics, that a length-framed
// body is exactly as long as announced, and that a response re-sent with the framing a
// proxy gives it parses back to the same status, fields and body.
func FuzzReadResponse(f *testing.F) {
	for _, c := range rawcase.Load(f, "testdata/responses") {
		f.Add(c.Raw, c.Want["method"] == "HEAD")
	}
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		got, status := receive(raw, method, httpx.Config{})
		if status != "ok" {
			return
		}
		if got.resp.Framing == httpx.LengthBody && int64(len(got.body)) != got.resp.ContentLength {
			t.Fatalf("body of %d bytes, Content-Length %d", len(got.body), got.resp.ContentLength)
		}
		again, status := receive([]byte(resend(got)), method, httpx.Config{})
		if status != "ok" {
			t.Fatalf("re-sent response refused (%s):\n%q", status, resend(got))
		}
		if again.head != got.head || again.body != got.body || again.resp.Status != got.resp.Status {
			t.Fatalf("re-parse changed the response:\n%q %q\n%q %q", got.head, got.body, again.head, again.body)
		}
	})
}

// resend is got as a proxy forwards it: its head, then a Content-Length for a
// body (or the one a bodiless HEAD or 304 response carried).
func resend(got received) string {
	out := got.head
	switch {
	case got.resp.Framing != httpx.NoBody:
		out += "Content-Length: " + strconv.Itoa(len(got.body)) + "\r\n"
	case got.resp.ContentLength >= 0 && got.resp.Status != 204 && got.resp.Status/100 != 1:
		out += "Content-Length: " + strconv.FormatInt(got.resp.ContentLength, 10) + "\r\n"
	}
	return out + "\r\n" + got.body
}
