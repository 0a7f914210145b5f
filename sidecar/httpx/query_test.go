package httpx_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

func TestEditQuery(t *testing.T) {
	for _, l := range readLines(t, "testdata/query_edit.txt") {
		if len(l) != 4 {
			t.Fatalf("bad line %q", l)
		}
		query, set, remove, want := dash(l[0]), parseSet(dash(l[1])), splitList(dash(l[2])), dash(l[3])
		if got, err := httpx.EditQuery(query, set, remove); got != want || err != nil {
			t.Errorf("EditQuery(%q, %v, %v) = %q, want %q", query, set, remove, got, want)
		}
	}
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func parseSet(s string) []httpx.Field {
	var out []httpx.Field
	for _, p := range splitList(s) {
		n, v, _ := strings.Cut(p, "=")
		out = append(out, httpx.Field{Name: n, Value: v})
	}
	return out
}

// FuzzEditQuery checks, for every query the normalizer accepts, that Go's
// url.ParseQuery (the policy's parsed_query) accepts it too, and that an edited query
// is accepted again and parses to exactly the parameters the edit asked for.
func FuzzEditQuery(f *testing.F) {
	for _, l := range readLines(f, "testdata/query_edit.txt") {
		f.Add(dash(l[0]), "k", "v", "b")
	}
	f.Add("a=1;b=2", "a", "", "")
	f.Fuzz(func(t *testing.T, query, setName, setValue, remove string) {
		_, q, err := httpx.NormalizeTarget("/?"+query, httpx.RejectSlashes)
		if err != nil {
			return
		}
		before, err := url.ParseQuery(q)
		if err != nil {
			t.Fatalf("normalizer accepted %q, url.ParseQuery refuses it: %v", q, err)
		}
		var set []httpx.Field
		if setName != "" {
			set = []httpx.Field{{Name: setName, Value: setValue}}
		}
		out, err := httpx.EditQuery(q, set, []string{remove})
		if err != nil {
			if strings.IndexByte(setName+setValue, 0) < 0 {
				t.Fatalf("EditQuery(%q, %q=%q): %v", q, setName, setValue, err)
			}
			return
		}
		_, q2, err := httpx.NormalizeTarget("/?"+out, httpx.RejectSlashes)
		if err != nil || q2 != out {
			t.Fatalf("edited query %q refused or changed (%q, %v)", out, q2, err)
		}
		after, err := url.ParseQuery(out)
		if err != nil {
			t.Fatalf("edited query %q: %v", out, err)
		}
		delete(before, remove)
		if setName != "" {
			before[setName] = []string{setValue}
		}
		if !sameParams(before, after) {
			t.Fatalf("EditQuery(%q) = %q: %v, want %v", q, out, after, before)
		}
	})
}

func sameParams(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb := b[k]
		if strings.Join(va, "\x00") != strings.Join(vb, "\x00") || len(va) != len(vb) {
			return false
		}
	}
	return true
}
