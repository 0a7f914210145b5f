package rawcase

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Case is one corpus file: its base name, the expectations from its header and the
// raw bytes after "---".
type Case struct {
	Name string
	Want map[string]string
	Raw  []byte
}

// Load reads every *.txt file of dir as a Case and fails the test when dir holds
// none or a file is malformed.
func Load(t testing.TB, dir string) []Case {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in %s: %v", dir, err)
	}
	var out []Case
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(filepath.Base(f), string(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, c)
	}
	return out
}

// Parse splits one corpus file into its expectations and its unescaped bytes.
// Header lines starting with "#" are comments.
func Parse(name, text string) (Case, error) {
	head, body, ok := strings.Cut(text, "\n---\n")
	if !ok {
		return Case{}, fmt.Errorf("no --- line")
	}
	raw, err := Unescape(body)
	if err != nil {
		return Case{}, err
	}
	c := Case{Name: name, Want: map[string]string{}, Raw: raw}
	for l := range strings.SplitSeq(head, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
			c.Want[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return c, nil
}

// Unescape turns the corpus notation into bytes: the text's own newlines are
// dropped (they only wrap long requests), and \r \n \t \0 \\ \xHH stand for their
// bytes; any other escaped character stands for itself.
func Unescape(s string) ([]byte, error) {
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
			if i+3 > len(s) {
				return nil, fmt.Errorf("bad \\x escape: %q is cut short", s[i-1:])
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad \\x escape: %w", err)
			}
			b = append(b, byte(v))
			i += 2
		default:
			b = append(b, s[i])
		}
	}
	return b, nil
}

// MustUnescape is Unescape for expectations inside a test: a bad escape fails t.
func MustUnescape(t testing.TB, s string) []byte {
	t.Helper()
	b, err := Unescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
