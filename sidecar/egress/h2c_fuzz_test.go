package egress

import (
	"slices"
	"testing"
)

// FuzzFrameScanner: the frame headers found in a byte stream do not depend on
// how the stream is cut into reads, and each is found where a frame starts.
func FuzzFrameScanner(f *testing.F) {
	f.Add([]byte(h2Preface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x03\x01\x05\x00\x00\x00\x01abc"), uint8(7))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, cut uint8) {
		type frame struct {
			typ, flags byte
			id         uint32
		}
		scan := func(parts ...[]byte) []frame {
			s := frameScanner{skip: len(h2Preface)}
			var out []frame
			for _, p := range parts {
				s.scan(p, func(typ, flags byte, id uint32) { out = append(out, frame{typ, flags, id}) })
			}
			return out
		}
		whole := scan(b)
		c := min(int(cut), len(b))
		if split := scan(b[:c], b[c:]); !slices.Equal(whole, split) {
			t.Fatalf("cut at %d: %v, whole: %v", c, split, whole)
		}
		var bytewise [][]byte
		for i := range b {
			bytewise = append(bytewise, b[i:i+1])
		}
		if one := scan(bytewise...); !slices.Equal(whole, one) {
			t.Fatalf("byte by byte: %v, whole: %v", one, whole)
		}
		// Frames start after the preface, each 9 + its length after the last.
		at := len(h2Preface)
		for _, fr := range whole {
			if at+9 > len(b) || b[at+3] != fr.typ || b[at+4] != fr.flags {
				t.Fatalf("frame %v not at offset %d", fr, at)
			}
			at += 9 + (int(b[at])<<16 | int(b[at+1])<<8 | int(b[at+2]))
		}
	})
}
