package decisionlog

import (
	"strings"
)

// Segment kinds a path template generalizes: each is one path segment that varies
// per resource (an identifier), replaced by a one-segment wildcard.
const (
	KindNumber = "{number}" // all digits: /orders/1042
	KindUUID   = "{uuid}"   // 8-4-4-4-12 hex digits
	KindHash   = "{hash}"   // 16 or more hex digits with at least one digit and one letter: a digest, an object id
)

// Template returns the path template of a request path (its query dropped): each
// segment that looks like an identifier is replaced by its kind, e.g.
// /v1/ships/42/logs -> /v1/ships/{number}/logs. Other segments are kept as they
// are (the proxy normalized the path already).
func Template(path string) string {
	p, _, _ := strings.Cut(path, "?")
	segs := strings.Split(p, "/")
	changed := false
	for i, s := range segs {
		if k := Kind(s); k != "" {
			segs[i], changed = k, true
		}
	}
	if !changed {
		return p
	}
	return strings.Join(segs, "/")
}

// Kind returns the identifier kind of one path segment, or "" for a segment kept
// as it is.
func Kind(seg string) string {
	switch {
	case seg == "":
		return ""
	case allDigits(seg):
		return KindNumber
	case isUUID(seg):
		return KindUUID
	case isHash(seg):
		return KindHash
	}
	return ""
}

// IsWildcard reports whether a template segment is a wildcard.
func IsWildcard(seg string) bool {
	return seg == KindNumber || seg == KindUUID || seg == KindHash
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

func isHash(s string) bool {
	if len(s) < 16 {
		return false
	}
	digit, letter := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isHex(c) {
			return false
		}
		if c <= '9' {
			digit = true
		} else {
			letter = true
		}
	}
	return digit && letter
}
