package httpx_test

import (
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
