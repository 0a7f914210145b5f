package tlshello_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

// helloCase is one line of testdata/hellos.txt.
type helloCase struct {
	name   string
	fields map[string]string
}

func loadCases(t testing.TB) []helloCase {
	t.Helper()
	b, err := os.ReadFile("testdata/hellos.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []helloCase
	for l := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		c := helloCase{name: f[0], fields: map[string]string{}}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("%s: field %q without =", c.name, kv)
			}
			c.fields[k] = expand(v)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatal("no cases")
	}
	return out
}

var repeat = regexp.MustCompile(`(.)\*([0-9]+)`)

// expand turns "a*63" into 63 a's.
func expand(v string) string {
	return repeat.ReplaceAllStringFunc(v, func(m string) string {
		n, _ := strconv.Atoi(m[2:])
		return strings.Repeat(m[:1], n)
	})
}

func (c helloCase) int(t testing.TB, key string, def int) int {
	v, ok := c.fields[key]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 0, 32)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", c.name, key, v, err)
	}
	return int(n)
}

// stream builds the bytes the client sends for c.
func (c helloCase) stream(t testing.TB) []byte {
	if raw, ok := c.fields["raw"]; ok {
		return rawcase.MustUnescape(t, raw)
	}
	msg := c.message(t)
	if n := c.int(t, "trail", 0); n > 0 {
		msg = append(msg, make([]byte, n)...)
	}
	out := c.records(t, msg)
	return out[:len(out)-c.int(t, "cut", 0)]
}

// message is the handshake message: type, 24-bit length, ClientHello body.
func (c helloCase) message(t testing.TB) []byte {
	var body []byte
	body = append(body, 3, 3)                // legacy_version
	body = append(body, make([]byte, 32)...) // random
	sid := c.int(t, "sid", 32)
	body = append(body, byte(sid))
	body = append(body, make([]byte, sid)...)
	suites := []byte{0x13, 0x01, 0x13, 0x02}
	suites = append(suites, make([]byte, c.int(t, "suites", 0))...)
	body = vec16(body, suites)
	body = append(body, 1, 0) // compression: null
	if c.fields["noext"] != "true" {
		body = vec16(body, c.extensions(t))
	}
	msg := []byte{byte(c.int(t, "hstype", 1)), 0, 0, 0}
	msg = append(msg, body...)
	n := len(body)
	msg[1], msg[2], msg[3] = byte(n>>16), byte(n>>8), byte(n)
	return msg
}

func (c helloCase) extensions(t testing.TB) []byte {
	var exts []byte
	if sni, ok := c.fields["sni"]; ok {
		var list []byte
		for e := range strings.SplitSeq(sni, ",") {
			if e == "" {
				continue
			}
			typ, name, _ := strings.Cut(e, ":")
			n, _ := strconv.Atoi(typ)
			list = append(list, byte(n))
			list = vec16(list, rawcase.MustUnescape(t, name))
		}
		for range c.int(t, "sniext", 1) {
			exts = ext(exts, 0, vec16(nil, list))
		}
	}
	if v, ok := c.fields["ext"]; ok {
		for h := range strings.SplitSeq(v, ",") {
			typ, err := strconv.ParseUint(h, 16, 16)
			if err != nil {
				t.Fatalf("%s: ext %q: %v", c.name, h, err)
			}
			exts = ext(exts, uint16(typ), nil)
		}
	}
	if n := c.int(t, "pad", 0); n > 0 {
		exts = ext(exts, 0x15, make([]byte, n))
	}
	return exts
}

// records cuts msg into TLS records of the sizes in "records" (the last size
// repeats).
func (c helloCase) records(t testing.TB, msg []byte) []byte {
	var sizes []int
	for s := range strings.SplitSeq(cmpOr(c.fields["records"], "16384"), ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("%s: records %q", c.name, s)
		}
		sizes = append(sizes, n)
	}
	ver, _ := strconv.ParseUint(cmpOr(c.fields["recver"], "0301"), 16, 16)
	var out []byte
	for i := 0; len(msg) > 0; i++ {
		n := min(sizes[min(i, len(sizes)-1)], len(msg))
		typ := byte(0x16)
		if i > 0 && c.fields["rec2type"] != "" {
			typ = byte(c.int(t, "rec2type", 0x16))
		}
		out = append(out, typ, byte(ver>>8), byte(ver))
		out = vec16(out, msg[:n])
		msg = msg[n:]
	}
	return out
}

func ext(b []byte, typ uint16, data []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, typ)
	return vec16(b, data)
}

func vec16(b, data []byte) []byte {
	if len(data) > 0xffff {
		panic(fmt.Sprintf("vector of %d bytes", len(data)))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
