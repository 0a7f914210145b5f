package httpx_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

var rules = map[string]httpx.SlashRule{
	"reject": httpx.RejectSlashes, "keep": httpx.KeepSlashesEncoded, "decode": httpx.DecodeSlashes,
}

func TestNormalizeTarget(t *testing.T) {
	for _, l := range readLines(t, "testdata/normalize.txt") {
		if len(l) != 3 {
			t.Fatalf("bad line %q", l)
		}
		target, rule, want := l[0], rules[l[1]], l[2]
		path, query, err := httpx.NormalizeTarget(target, rule)
		got := path
		if query != "" {
			got += " ?" + query
		}
		if err != nil {
			var he *httpx.Error
			if !errors.As(err, &he) {
				t.Errorf("%q: error %v is not *httpx.Error", target, err)
			}
			got = strconv.Itoa(he.Status)
		}
		if got != want {
			t.Errorf("NormalizeTarget(%q, %s) = %q, want %q", target, l[1], got, want)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	for _, l := range readLines(t, "testdata/hosts.txt") {
		host, want := l[0], l[1]
		got, err := httpx.NormalizeHost(host, "80")
		if err != nil {
			got = "400"
		}
		if got != want {
			t.Errorf("NormalizeHost(%q) = %q (%v), want %q", host, got, err, want)
		}
	}
}
