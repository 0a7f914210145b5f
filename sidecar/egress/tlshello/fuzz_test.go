package tlshello_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/egress/tlshello"
)

// FuzzRead checks, for any bytes: no panic, raw is what was read and within the
// bound, and an accepted name is in the normalized form policy compares.
func FuzzRead(f *testing.F) {
	for _, c := range loadCases(f) {
		f.Add(c.stream(f))
	}
	const max = 4096
	f.Fuzz(func(t *testing.T, in []byte) {
		raw, h, err := tlshello.Read(bytes.NewReader(in), max)
		if !bytes.HasPrefix(in, raw) || len(raw) > 2*max {
			t.Fatalf("raw of %d bytes is not a bounded prefix", len(raw))
		}
		if err != nil {
			return
		}
		n := h.ServerName
		if n != strings.ToLower(n) || strings.HasSuffix(n, ".") || strings.HasPrefix(n, ".") ||
			strings.Contains(n, "..") || len(n) > 253 {
			t.Fatalf("server name %q not normalized", n)
		}
		// The same hello with a record split in two parses the same.
		if len(raw) > 6 {
			_, h2, err := tlshello.Read(bytes.NewReader(resplit(raw)), max)
			if err == nil && h2 != h {
				t.Fatalf("resplit hello parsed as %+v, first as %+v", h2, h)
			}
		}
	})
}

// resplit moves the first record's last byte into a record of its own.
func resplit(raw []byte) []byte {
	n := int(raw[3])<<8 | int(raw[4])
	if n < 2 || 5+n > len(raw) {
		return raw
	}
	out := append([]byte{}, raw[:5]...)
	out[3], out[4] = byte((n-1)>>8), byte(n-1)
	out = append(out, raw[5:5+n-1]...)
	out = append(out, raw[0], raw[1], raw[2], 0, 1, raw[5+n-1])
	return append(out, raw[5+n:]...)
}
