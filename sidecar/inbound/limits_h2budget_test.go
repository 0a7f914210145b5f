package inbound

import (
	"slices"
	"testing"
)

// FuzzFrameScanner: frame heads found in a byte stream do not depend on how the
// stream is cut into reads, and a head's length always skips exactly its payload.
func FuzzFrameScanner(f *testing.F) {
	f.Add([]byte(h2Preface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00"+"\x00\x00\x08\x06\x00\x00\x00\x00\x00PINGPING"), uint16(30))
	f.Add([]byte("\x00\x00\x01\x00\x01\x00\x00\x00\x01x\x00\x00"), uint16(3))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		whole, f := scanAll(b, len(b))
		n := 1 + int(cut)%max(len(b), 1)
		pieces, _ := scanAll(b, n)
		if !slices.Equal(whole, pieces) {
			t.Fatalf("in one read %v, in reads of %d bytes %v", whole, n, pieces)
		}
		end := len(h2Preface) // where the last frame found ends
		for _, h := range whole {
			end += 9 + int(h.length)
		}
		if f.atBoundary() != (end == len(b)) && len(b) >= len(h2Preface) {
			t.Fatalf("at boundary %v, but frames end at %d of %d bytes", f.atBoundary(), end, len(b))
		}
	})
}

// scanAll scans b, after a preface's worth of bytes, in reads of n bytes.
func scanAll(b []byte, n int) ([]frameHeader, *frameScanner) {
	f := &frameScanner{skip: len(h2Preface)}
	var out []frameHeader
	for len(b) > 0 {
		k := min(n, len(b))
		for p := b[:k]; ; {
			h, rest, ok := f.next(p)
			if !ok {
				break
			}
			out = append(out, h)
			p = rest
		}
		b = b[k:]
	}
	return out, f
}
