package rego

import "unicode/utf8"

// The steps InputDecoder reads JSON with: fastParser's, without building values.
// Each reports false on anything it does not take exactly as encoding/json would.

// open moves past the '{' of an object.
func (p *fastParser) open() bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '{' {
		p.i++
		return true
	}
	return false
}

// member reads the key of an object's next member (first: right after '{'),
// leaving p at its value; done reports the end of the object. Keys holding
// escapes are not taken.
func (p *fastParser) member(first bool) (key []byte, done, ok bool) {
	if first {
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return nil, true, true
		}
	} else if end, ok := p.sep('}'); !ok || end {
		return nil, end, ok
	}
	p.ws()
	s, escaped, ok := p.rawString()
	if !ok || escaped {
		return nil, false, false
	}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != ':' {
		return nil, false, false
	}
	p.i++
	p.ws()
	return s, false, true
}

// rawString reads a string's bytes between the quotes, as they are; escaped says
// they hold a backslash. Control characters are refused, as JSON does.
func (p *fastParser) rawString() (s []byte, escaped, ok bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false, false
	}
	start := p.i + 1
	for i := start; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			p.i = i + 1
			return p.b[start:i], escaped, true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			escaped = true
			i++
		}
	}
	return nil, false, false
}

// validUTF8 is utf8.Valid with a quick path for ASCII.
func validUTF8(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return utf8.Valid(b)
		}
	}
	return true
}

// skip moves past one value, checking it is JSON encoding/json would read.
func (p *fastParser) skip(depth int) bool {
	p.ws()
	if p.i >= len(p.b) || depth > maxFastDepth {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		for first := true; ; first = false {
			if first {
				p.ws()
				if p.i < len(p.b) && p.b[p.i] == '}' {
					p.i++
					return true
				}
			} else if end, ok := p.sep('}'); !ok || end {
				return ok
			}
			p.ws()
			if !p.skipString() {
				return false
			}
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return false
			}
			p.i++
			if !p.skip(depth + 1) {
				return false
			}
		}
	case c == '[':
		p.i++
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return true
		}
		for {
			if !p.skip(depth + 1) {
				return false
			}
			if end, ok := p.sep(']'); !ok || end {
				return ok
			}
		}
	case c == '"':
		return p.skipString()
	case c == '-' || c >= '0' && c <= '9':
		return p.skipNumber()
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	}
	return false
}

// skipString moves past a string whose escapes and UTF-8 are valid.
func (p *fastParser) skipString() bool {
	s, escaped, ok := p.rawString()
	if !ok {
		return false
	}
	if escaped {
		_, ok = unescape(s)
		return ok
	}
	return validUTF8(s)
}

// strBytes reads a string without escapes (or null, leaving dst) as bytes of p.
func (d *InputDecoder) strBytes(p *fastParser, dst *[]byte) bool {
	if p.lit("null") {
		return true
	}
	s, escaped, ok := p.rawString()
	if !ok || escaped || !validUTF8(s) {
		return false
	}
	*dst = s
	return true
}

// str reads a string (or null, leaving dst ""), interned when intern is set.
func (d *InputDecoder) str(p *fastParser, dst *string, intern bool) bool {
	if p.lit("null") {
		*dst = ""
		return true
	}
	s, escaped, ok := p.rawString()
	switch {
	case !ok:
		return false
	case escaped:
		v, ok := unescape(s)
		if ok {
			*dst = v.(string)
		}
		return ok
	case !validUTF8(s):
		return false
	case intern:
		*dst = d.intern(s)
	default:
		*dst = string(s)
	}
	return true
}

// strMap reads labels or headers: an object of strings (or null), names taken as
// they are only when already lower-case ASCII (DecodeInput lower-cases them, and
// two names differing in case would collide). An empty object is nil.
//
// Maps read from the same bytes are one map (while the table has room): the
// inputs an InputDecoder returns share them, so they are read-only.
func (d *InputDecoder) strMap(p *fastParser, dst *map[string]string) bool {
	if p.lit("null") {
		return true
	}
	start := p.i
	if !p.skip(0) {
		return false
	}
	raw := p.b[start:p.i]
	if m, ok := d.maps[string(raw)]; ok {
		*dst = m
		return true
	}
	end := p.i
	p.i = start
	if !d.readMap(p, dst) || p.i != end {
		return false
	}
	if len(d.maps) < maxInterned && len(raw) <= maxInternMapLen {
		d.maps[string(raw)] = *dst
	}
	return true
}

func (d *InputDecoder) readMap(p *fastParser, dst *map[string]string) bool {
	if !p.open() {
		return false
	}
	var m map[string]string
	for first := true; ; first = false {
		key, done, ok := p.member(first)
		if !ok {
			return false
		}
		if done {
			break
		}
		for _, c := range key {
			if c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf {
				return false
			}
		}
		var v string
		if p.lit("null") || !d.str(p, &v, true) { // null is DecodeInput's error
			return false
		}
		if m == nil {
			m = make(map[string]string, 4)
		}
		if _, dup := m[string(key)]; dup {
			return false
		}
		m[d.intern(key)] = v
	}
	*dst = m
	return true
}

// intern returns b as a string, the same string for the same bytes while the
// table has room.
func (d *InputDecoder) intern(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.strs) < maxInterned && len(b) <= maxInternLen {
		d.strs[s] = s
	}
	return s
}
