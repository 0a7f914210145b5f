package rawcase_test

import (
	"fmt"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

func ExampleParse() {
	c, err := rawcase.Parse("get.txt", "# a comment: ignored\nstatus: 200\n---\nGET / HTTP/1.1\\r\\n\nHost: a\\r\\n\\r\\n")
	fmt.Println(c.Want, err)
	fmt.Printf("%q\n", c.Raw)
	// Output:
	// map[status:200] <nil>
	// "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
}

func TestUnescape(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      bool
	}{
		{in: `a\tb\0\\\x7f\q`, want: "a\tb\x00\\\x7fq"},
		{in: "line\none", want: "lineone"},
		{in: `trailing\`, want: `trailing\`},
		{in: `\xZZ`, bad: true},
		{in: `\x4`, bad: true},
	} {
		got, err := rawcase.Unescape(c.in)
		if c.bad != (err != nil) || (!c.bad && string(got) != c.want) {
			t.Errorf("Unescape(%q) = %q, %v; want %q, bad=%v", c.in, got, err, c.want, c.bad)
		}
	}
}

func TestParseWithoutSeparator(t *testing.T) {
	if _, err := rawcase.Parse("x.txt", "status: 200\nGET / HTTP/1.1"); err == nil {
		t.Error("a file without a --- line parsed")
	}
}
