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
	Fields              map[string]string // hello, ech, pad, record, host, raw, segment, want, forbid
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
	case c.Fields["host"] != "":
		host, err := rawcase.Unescape(c.Fields["host"])
		if err != nil {
			return nil, err
		}
		return append(append([]byte("GET / HTTP/1.1\r\nHost: "), host...), "\r\n\r\n"...), nil
	}
	return rawcase.Unescape(c.Fields["raw"])
}
