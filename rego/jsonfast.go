package rego

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// parseJSONFast decodes raw as encoding/json's Decoder with UseNumber decodes
// into an `any` (objects as map[string]any, numbers as json.Number), followed by
// a check for trailing data, several times faster and with fewer allocations.
// It takes only plain JSON: on anything it does not handle exactly as
// encoding/json does (invalid UTF-8, a key given twice, nesting deeper than
// maxFastDepth, or any syntax error) it reports false, and the caller decodes
// with encoding/json, which then also gives the error. FuzzFastJSON holds it to
// encoding/json.
func parseJSONFast(raw []byte) (any, bool) {
	p := fastParser{b: raw}
	v, ok := p.value(0)
	if !ok {
		return nil, false
	}
	p.ws()
	return v, p.i == len(p.b)
}

// common holds the keys and values of every logged Envoy-form input, so that
// decoding one allocates no string for them.
var common = func() map[string]any {
	m := map[string]any{}
	for _, s := range []string{"attributes", "source", "destination", "address", "socketAddress", "portValue",
		"principal", "labels", "request", "http", "headers", "host", "method", "path", "protocol", "scheme",
		"body", "parsed_path", "parsed_query", "parsed_body", "truncated_body", "version", "source_principal",
		"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "HTTP/1.1", "HTTP/2", "http", "https",
		"user-agent", "accept", "content-type", "content-length", "x-request-id", "app", "org", ""} {
		m[s] = s
	}
	return m
}()

// maxFastDepth bounds nesting; deeper documents take encoding/json's path.
const maxFastDepth = 64

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) value(depth int) (any, bool) {
	p.ws()
	if p.i >= len(p.b) || depth > maxFastDepth {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	}
	return nil, false
}

func (p *fastParser) lit(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

func (p *fastParser) object(depth int) (any, bool) {
	p.i++ // '{'
	m := map[string]any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		key := k.(string)
		if _, dup := m[key]; dup {
			return nil, false
		}
		m[key] = v
		if end, ok := p.sep('}'); !ok || end {
			return m, ok
		}
	}
}

func (p *fastParser) array(depth int) (any, bool) {
	p.i++ // '['
	a := []any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if end, ok := p.sep(']'); !ok || end {
			return a, ok
		}
	}
}

// sep reads what follows a member or element: a comma (more follow) or close
// (end is true); anything else, or the end of input, is not ok.
func (p *fastParser) sep(close byte) (end, ok bool) {
	p.ws()
	if p.i >= len(p.b) {
		return false, false
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return false, true
	case close:
		p.i++
		return true, true
	}
	return false, false
}

// str reads a string. Plain strings are sliced once; escapes are decoded with
// strconv.Unquote, which agrees with JSON for the escapes JSON allows once
// surrogate escapes (\ud800-\udfff), which the two treat differently, are refused.
func (p *fastParser) str() (any, bool) {
	start := p.i
	p.i++ // '"'
	escaped := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start+1 : p.i]
			p.i++
			if !escaped {
				if v, ok := common[string(s)]; ok { // no allocation for the lookup
					return v, true
				}
				if !utf8.Valid(s) {
					return nil, false
				}
				return string(s), true
			}
			return unescape(s)
		case c < 0x20:
			return nil, false
		case c == '\\':
			escaped = true
			if p.i+1 >= len(p.b) {
				return nil, false
			}
			p.i += 2
		default:
			p.i++
		}
	}
	return nil, false
}

// unescape decodes the body of a JSON string holding escapes.
func unescape(s []byte) (any, bool) {
	if !utf8.Valid(s) {
		return nil, false
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+5 > len(s) {
				return nil, false
			}
			r, err := strconv.ParseUint(string(s[i+1:i+5]), 16, 32)
			if err != nil || r >= 0xd800 && r <= 0xdfff {
				return nil, false
			}
			out = utf8.AppendRune(out, rune(r))
			i += 4
		default:
			return nil, false
		}
	}
	return string(out), true
}

// number reads a JSON number as its literal text, checked against JSON's grammar.
func (p *fastParser) number() (any, bool) {
	start := p.i
	if !p.skipNumber() {
		return nil, false
	}
	return json.Number(p.b[start:p.i]), true
}

// skipNumber moves past a JSON number, reporting false when it breaks the grammar.
func (p *fastParser) skipNumber() bool {
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if !p.digits() {
			return false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		return p.digits()
	}
	return true
}

func (p *fastParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}
