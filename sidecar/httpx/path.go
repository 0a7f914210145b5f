package httpx

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// SlashRule says what the normalizer does with "%2F", "%5C" and a raw "\" in a path.
// Applications disagree about them (some decode %2F into a separator, some treat "\"
// as "/"), so a policy on "/a/b" could be bypassed with "/a%2Fb". One rule, applied
// before policy and to the forwarded request alike, removes the disagreement.
type SlashRule int

const (
	// RejectSlashes refuses the request with 400. The default: safe for every app.
	RejectSlashes SlashRule = iota
	// KeepSlashesEncoded forwards "%2F" and "%5C" encoded (upper-case hex) and encodes
	// a raw "\" as "%5C"; policy sees the same encoded path. Only safe when the app
	// does not decode them into separators.
	KeepSlashesEncoded
	// DecodeSlashes turns "%2F", "%5C" and "\" into "/" and then merges and resolves
	// segments (Istio's UNESCAPE_AND_MERGE).
	DecodeSlashes
)

// NormalizeTarget splits an origin-form request target into its normalized path and
// its raw query (without "?"), strips any fragment, and validates both.
func NormalizeTarget(target string, rule SlashRule) (path, query string, err error) {
	target, _, _ = strings.Cut(target, "#")
	rawPath, query, _ := strings.Cut(target, "?")
	if err := checkQuery(query); err != nil {
		return "", "", err
	}
	path, err = NormalizePath(rawPath, rule)
	return path, query, err
}

// NormalizePath returns the one form of an absolute path that policy decides on and
// the application receives.
func NormalizePath(raw string, rule SlashRule) (string, error) {
	if !strings.HasPrefix(raw, "/") {
		return "", badRequest("path %q does not start with /", raw)
	}
	decoded, err := decodeUnreserved(raw, rule)
	if err != nil {
		return "", err
	}
	if err := checkUTF8(decoded); err != nil {
		return "", err
	}
	return resolveSegments(decoded)
}

// decodeUnreserved decodes escapes of unreserved characters once, upper-cases the hex
// of the escapes it keeps, and applies the slash rule.
func decodeUnreserved(raw string, rule SlashRule) (string, error) {
	if plainPath(raw) {
		return raw, nil // nothing to decode: no copy
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%':
			v, ok := unhex2(raw, i)
			if !ok {
				return "", badRequest("invalid percent-escape in path")
			}
			i += 2
			if err := writeDecoded(&b, v, rule); err != nil {
				return "", err
			}
		case c == '\\':
			if err := writeSlashLike(&b, '\\', rule); err != nil {
				return "", err
			}
		case !pathChar(c):
			return "", badRequest("byte 0x%02x not allowed in path", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func writeDecoded(b *strings.Builder, v byte, rule SlashRule) error {
	switch {
	case v == 0:
		return badRequest("NUL in path")
	case v == '/' || v == '\\':
		return writeSlashLike(b, v, rule)
	case unreserved(v):
		b.WriteByte(v)
	default:
		writeEscape(b, v)
	}
	return nil
}

func writeSlashLike(b *strings.Builder, v byte, rule SlashRule) error {
	switch rule {
	case KeepSlashesEncoded:
		writeEscape(b, v)
	case DecodeSlashes:
		b.WriteByte('/')
	default:
		return badRequest("encoded slash or backslash in path")
	}
	return nil
}

func writeEscape(b *strings.Builder, v byte) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[v>>4])
	b.WriteByte(hex[v&15])
}

// checkUTF8 decodes every remaining escape and refuses invalid UTF-8, which covers
// overlong encodings such as %C0%AE that some decoders turn into ".".
func checkUTF8(p string) error {
	if !strings.Contains(p, "%") {
		return nil
	}
	buf := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '%' {
			v, _ := unhex2(p, i)
			buf = append(buf, v)
			i += 2
			continue
		}
		buf = append(buf, p[i])
	}
	if !utf8.Valid(buf) {
		return badRequest("path is not valid UTF-8 once decoded")
	}
	return nil
}

// resolveSegments merges empty segments and resolves "." and ".." (RFC 3986 5.2.4,
// with ".." at the root staying at the root). Segments such as "..;x" are refused:
// servers that strip path parameters read them as "..".
func resolveSegments(p string) (string, error) {
	if resolved(p) {
		return p, nil // the loop below would rebuild p unchanged
	}
	trailing := strings.HasSuffix(p, "/")
	var out []string
	for seg := range strings.SplitSeq(p[1:], "/") {
		name, _, hasParams := strings.Cut(seg, ";")
		switch {
		case hasParams && (name == "." || name == ".."):
			return "", badRequest("dot segment with parameters in path")
		case seg == "" || seg == ".":
			trailing = true
		case seg == "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = true
		default:
			out = append(out, seg)
			trailing = false
		}
	}
	res := "/" + strings.Join(out, "/")
	if trailing && len(out) > 0 {
		res += "/"
	}
	return res, nil
}

// plainPath reports whether raw holds only characters that stand for themselves in
// a path: no escape, no backslash, nothing refused.
func plainPath(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c == '%' || c == '\\' || !pathChar(c) {
			return false
		}
	}
	return true
}

// resolved reports whether resolveSegments would return p as it is: every segment
// but a last empty one (a trailing slash) is non-empty, and none is "." or ".."
// with or without parameters.
func resolved(p string) bool {
	rest := p[1:]
	for rest != "" {
		seg, after, more := strings.Cut(rest, "/")
		name, _, _ := strings.Cut(seg, ";")
		if seg == "" || name == "." || name == ".." {
			return false
		}
		if !more {
			break
		}
		rest = after
	}
	return true
}

func unhex2(s string, i int) (byte, bool) {
	if i+2 >= len(s) {
		return 0, false
	}
	hi, ok1 := unhex(s[i+1])
	lo, ok2 := unhex(s[i+2])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// pathChar reports whether c may appear literally in a path: unreserved, sub-delims,
// ":" and "@" (RFC 3986 pchar) plus "/".
// The set is two bit masks over ASCII, as for tokenChar: a string search per byte
// showed in the profile.
func pathChar(c byte) bool {
	return pathChars.has(c)
}

var pathChars = asciiSet{lo: 0x2fffffd200000000, hi: 0x47fffffe87ffffff}

// String is the rule's name as rampart-proxy --slashes takes it.
func (r SlashRule) String() string {
	switch r {
	case RejectSlashes:
		return "reject"
	case KeepSlashesEncoded:
		return "keep"
	case DecodeSlashes:
		return "decode"
	}
	return "SlashRule(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText shows the rule by name in /debug/config.
func (r SlashRule) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
