package decisionlog_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

// FuzzReadEvents: whatever the bytes, the reader returns (no panic, no hang), every
// event is within MaxLine, and every event it gives parses or errs without panic.
func FuzzReadEvents(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[{},{}] [ ] {\"decision_id\":\"a\",\"input\":{}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := decisionlog.ReadEvents("f", bytes.NewReader(data), func(ev decisionlog.Event) error {
			if len(ev.Data) > decisionlog.MaxLine+1 {
				t.Fatalf("event of %d bytes", len(ev.Data))
			}
			r, err := decisionlog.Parse(ev.Data)
			if err == nil && r.Input == nil {
				t.Fatal("a parsed decision without input")
			}
			if err == nil {
				_ = decisionlog.FlowOf(r.Input)
			}
			return nil
		})
		if err != nil && !strings.HasPrefix(err.Error(), "f") {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}

// FuzzTemplate: a template keeps the number of segments, only replaces whole
// segments by wildcards, and is stable (templating a template changes nothing).
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/v1/landings/1042", "/a/6f1c2a01-3b7e-4c1d-9a55-0e8b2f4d0001", "/x/deadbeef00c0ffee?q", "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tpl := decisionlog.Template(p)
		base, _, _ := strings.Cut(p, "?")
		a, b := strings.Split(base, "/"), strings.Split(tpl, "/")
		if len(a) != len(b) {
			t.Fatalf("%q -> %q changed the segment count", p, tpl)
		}
		for i := range a {
			if a[i] != b[i] && !decisionlog.IsWildcard(b[i]) {
				t.Fatalf("%q -> %q: segment %q became %q", p, tpl, a[i], b[i])
			}
		}
		if again := decisionlog.Template(tpl); again != tpl {
			t.Fatalf("template of %q is %q, not stable", tpl, again)
		}
	})
}
