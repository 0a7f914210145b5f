package egresstest

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

// Case is one line of the bypass corpus (sidecar/egress/testdata/bypass.txt):
// raw bytes an app sends to a host's address, and whether they may reach it.
type Case struct {
	Name, App, To, Port string            // Port: "http" or "https"
	Fields              map[string]string // hello, ech, pad, record, host, h2c, h2host, h2method, raw, segment, want, forbid
}

// LoadCorpus reads a corpus file.
func LoadCorpus(path string) ([]Case, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Case
	for l := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) < 5 {
			return nil, fmt.Errorf("%s: short line %q", path, l)
		}
		c := Case{Name: f[0], App: f[1], To: f[2], Port: f[3], Fields: map[string]string{}}
		for _, kv := range f[4:] {
			k, v, _ := strings.Cut(kv, "=")
			c.Fields[k] = v
		}
		out = append(out, c)
	}
	return out, nil
}

// Allowed reports whether the case's bytes may reach its host.
func (c Case) Allowed() bool { return c.Fields["want"] == "allow" }

// Segment is the TCP write size (0: all at once).
func (c Case) Segment() int {
	n, _ := strconv.Atoi(c.Fields["segment"])
	return n
}

// Bytes builds what the app sends.
func (c Case) Bytes() ([]byte, error) {
	switch {
	case c.Fields["hello"] != "":
		h := Hello{ECH: c.Fields["ech"] == "true"}
		if v := c.Fields["hello"]; v != "-" {
			for _, n := range strings.Split(v, ",") {
				b, err := rawcase.Unescape(n)
				if err != nil {
					return nil, err
				}
				h.Names = append(h.Names, string(b))
			}
		}
		h.Pad, _ = strconv.Atoi(c.Fields["pad"])
		h.Record, _ = strconv.Atoi(c.Fields["record"])
		return h.Bytes(), nil
	case c.Fields["h2c"] != "":
		return h2cRequest(c.Fields["h2method"], c.Fields["h2c"], c.Fields["h2host"])
	case c.Fields["host"] != "":
		host, err := rawcase.Unescape(c.Fields["host"])
		if err != nil {
			return nil, err
		}
		return append(append([]byte("GET / HTTP/1.1\r\nHost: "), host...), "\r\n\r\n"...), nil
	}
	return rawcase.Unescape(c.Fields["raw"])
}

// h2cRequest is an h2c (prior knowledge) connection carrying one request on
// stream 1: method (default GET; CONNECT has no :scheme or :path) with
// :authority authority and, when host is set, a Host header too. Header
// fields are HPACK literals without Huffman coding, so the names stay readable
// in the bytes.
func h2cRequest(method, authority, host string) ([]byte, error) {
	fields := [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", authority}}
	if method == "CONNECT" {
		fields = [][2]string{{":method", method}, {":authority", authority}}
	} else if method != "" {
		fields[0][1] = method
	}
	if host != "" {
		fields = append(fields, [2]string{"host", host})
	}
	var block []byte
	for _, f := range fields {
		name, err := rawcase.Unescape(f[0])
		if err != nil {
			return nil, err
		}
		value, err := rawcase.Unescape(f[1])
		if err != nil {
			return nil, err
		}
		if len(name) > 126 || len(value) > 126 {
			return nil, fmt.Errorf("h2c field %q too long for a one-byte HPACK length", f[0])
		}
		block = append(block, 0x00, byte(len(name))) // literal, new name, not indexed
		block = append(block, name...)
		block = append(append(block, byte(len(value))), value...)
	}
	b := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	b = append(b, 0, 0, 0, 0x4, 0, 0, 0, 0, 0)                        // SETTINGS, empty
	b = append(b, 0, byte(len(block)>>8), byte(len(block)), 0x1, 0x5) // HEADERS, END_STREAM|END_HEADERS
	b = append(append(b, 0, 0, 0, 1), block...)                       // stream 1
	return b, nil
}
