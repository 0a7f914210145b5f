package tlshello

import (
	"fmt"
	"strings"
)

// Extension types read here.
const (
	extServerName = 0
	hostNameType  = 0
)

// Parse reads a ClientHello message body (after the 4-byte handshake header):
// legacy_version, random, legacy_session_id, cipher_suites,
// legacy_compression_methods, extensions (RFC 8446 §4.1.2). Every length must fit
// its container exactly.
func Parse(body []byte) (Hello, error) {
	c := cursor{b: body}
	c.skip(2 + 32) // legacy_version, random
	if sid := c.vec8(); len(sid) > 32 {
		return Hello{}, fmt.Errorf("%w: session id of %d bytes", ErrMalformed, len(sid))
	}
	if cs := c.vec16(); len(cs) == 0 || len(cs)%2 != 0 {
		return Hello{}, fmt.Errorf("%w: cipher suites", ErrMalformed)
	}
	if cm := c.vec8(); len(cm) == 0 {
		return Hello{}, fmt.Errorf("%w: compression methods", ErrMalformed)
	}
	if c.bad {
		return Hello{}, fmt.Errorf("%w: truncated", ErrMalformed)
	}
	if len(c.b) == 0 {
		return Hello{}, nil // no extensions (SSL 3 / TLS 1.0 style): no SNI
	}
	exts := c.vec16()
	if c.bad || len(c.b) != 0 {
		return Hello{}, fmt.Errorf("%w: extensions length", ErrMalformed)
	}
	return parseExtensions(exts)
}

func parseExtensions(b []byte) (Hello, error) {
	var h Hello
	seen := map[uint16]bool{}
	c := cursor{b: b}
	for len(c.b) > 0 {
		typ := c.u16()
		data := c.vec16()
		if c.bad {
			return Hello{}, fmt.Errorf("%w: extension truncated", ErrMalformed)
		}
		if seen[typ] {
			return Hello{}, fmt.Errorf("%w: extension %#04x repeated", ErrMalformed, typ)
		}
		seen[typ] = true
		switch typ {
		case extServerName:
			name, err := serverName(data)
			if err != nil {
				return Hello{}, err
			}
			h.ServerName, h.IPLiteral = name, isIPv4Literal(name)
		case ExtECH:
			h.ECH = true
		}
	}
	return h, nil
}

// serverName reads the server_name extension: a list of (type, name) of which
// exactly one host_name. Two host names (RFC 6066 forbids it) are what servers and
// proxies have read differently, first versus last, so they are malformed.
func serverName(data []byte) (string, error) {
	c := cursor{b: data}
	list := c.vec16()
	if c.bad || len(c.b) != 0 || len(list) == 0 {
		return "", fmt.Errorf("%w: server_name list", ErrMalformed)
	}
	l := cursor{b: list}
	name := ""
	for len(l.b) > 0 {
		typ := l.u8()
		v := l.vec16()
		if l.bad {
			return "", fmt.Errorf("%w: server_name entry", ErrMalformed)
		}
		if typ != hostNameType {
			continue
		}
		if name != "" {
			return "", fmt.Errorf("%w: two host_name entries", ErrMalformed)
		}
		n, err := normalName(v)
		if err != nil {
			return "", err
		}
		name = n
	}
	if name == "" {
		return "", fmt.Errorf("%w: server_name without host_name", ErrMalformed)
	}
	return name, nil
}

// NormalName checks and normalizes a host name as read from SNI or an HTTP Host
// (no port): the same rules as the server_name, so every name policy sees is in
// one form. ipLiteral is set for IPv4 forms (see Hello.IPLiteral).
func NormalName(name string) (normal string, ipLiteral bool, err error) {
	n, err := normalName([]byte(name))
	if err != nil {
		return "", false, err
	}
	return n, isIPv4Literal(n), nil
}

// normalName accepts the bytes of a DNS name in A-label form (letters, digits,
// hyphen, underscore; labels of 1 to 63 bytes; at most 253 bytes plus one trailing
// dot) and returns it lower-cased without the trailing dot. Anything else (NUL,
// spaces, UTF-8, "%", empty labels) would be read differently by a resolver, a
// policy and a server.
func normalName(v []byte) (string, error) {
	if len(v) > 0 && v[len(v)-1] == '.' {
		v = v[:len(v)-1]
	}
	if len(v) == 0 || len(v) > 253 {
		return "", fmt.Errorf("%w: server name of %d bytes", ErrMalformed, len(v))
	}
	out := make([]byte, len(v))
	label := 0
	for i, ch := range v {
		switch {
		case 'A' <= ch && ch <= 'Z':
			ch += 'a' - 'A'
		case 'a' <= ch && ch <= 'z', '0' <= ch && ch <= '9', ch == '-', ch == '_':
		case ch == '.':
			if label == 0 {
				return "", fmt.Errorf("%w: empty label in server name", ErrMalformed)
			}
			label, out[i] = -1, ch
		default:
			return "", fmt.Errorf("%w: byte %#02x in server name", ErrMalformed, ch)
		}
		if label++; label > 63 {
			return "", fmt.Errorf("%w: label longer than 63 bytes", ErrMalformed)
		}
		out[i] = ch
	}
	if label == 0 { // "name.." had one trailing dot too many
		return "", fmt.Errorf("%w: empty label in server name", ErrMalformed)
	}
	return string(out), nil
}

// isIPv4Literal reports whether a resolver would read name as an IPv4 address:
// inet_aton and the WHATWG URL parser do so when the last label is a number
// (decimal, or hex with 0x), whatever the other labels are. No top-level domain
// is numeric.
func isIPv4Literal(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	digits := "0123456789"
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = hex, "0123456789abcdef" // "0x" alone is 0 to inet_aton
	} else if last == "" {
		return false
	}
	for _, ch := range last {
		if !strings.ContainsRune(digits, ch) {
			return false
		}
	}
	return true
}

// cursor reads big-endian fields; once a read runs past the end, bad is set and
// every later read returns nothing.
type cursor struct {
	b   []byte
	bad bool
}

func (c *cursor) take(n int) []byte {
	if c.bad || n > len(c.b) {
		c.bad = true
		return nil
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v
}

func (c *cursor) skip(n int) { c.take(n) }

func (c *cursor) u8() int {
	v := c.take(1)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func (c *cursor) u16() uint16 {
	v := c.take(2)
	if v == nil {
		return 0
	}
	return uint16(v[0])<<8 | uint16(v[1])
}

func (c *cursor) vec8() []byte  { return c.take(c.u8()) }
func (c *cursor) vec16() []byte { return c.take(int(c.u16())) }
