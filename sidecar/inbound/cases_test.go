package inbound_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rawCase is one file of testdata/requests: "key: value" expectation lines, a line
// "---", then the raw bytes written with escapes (\r \n \t \0 \\ \xHH); the file's own
// newlines after "---" are not part of the bytes.
type rawCase struct {
	name string
	want map[string]string
	raw  []byte
}

func loadCases(t testing.TB, dir string) []rawCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in %s: %v", dir, err)
	}
	var out []rawCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, body, ok := strings.Cut(string(b), "\n---\n")
		if !ok {
			t.Fatalf("%s: no --- line", f)
		}
		c := rawCase{name: filepath.Base(f), want: map[string]string{}, raw: unescape(t, body)}
		for l := range strings.SplitSeq(head, "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
				c.want[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		out = append(out, c)
	}
	return out
}

func unescape(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.ReplaceAll(s, "\n", "")
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'r':
			b = append(b, '\r')
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case '0':
			b = append(b, 0)
		case 'x':
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				t.Fatalf("bad \\x escape: %v", err)
			}
			b = append(b, byte(v))
			i += 2
		default:
			b = append(b, s[i])
		}
	}
	return b
}
