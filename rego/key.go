package rego

import (
	"encoding/binary"
	"slices"
)

// appendKey appends the decision-cache key of in under n: an encoding of exactly the
// data value(n, ...) reads, so two inputs with equal keys build equal input values
// (and, the policy being deterministic, get equal decisions). It mirrors value() call
// for call. Which parts are encoded depends only on n, fixed per revision; what can
// vary per input is always spelled out: every string is length-prefixed, and every
// optional part (the request, a label or header) carries a presence byte, so no two
// different inputs share a key — not even ones that differ only in where one field
// ends and the next begins. Building it costs no allocation for typical inputs.
func (in *Input) appendKey(b []byte, n *need) []byte {
	if in == nil || n == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	if a := n.at(fAttributes); a != nil {
		if s := a.at(fSource); s != nil {
			b = in.Source.appendKey(b, s)
		}
		if d := a.at(fDestination); d != nil {
			b = in.Destination.appendKey(b, d)
		}
		if r := a.at(fRequest); r != nil {
			if h := r.at(fHTTP); h != nil {
				b = in.Request.appendKey(b, h)
			}
		}
	}
	if n.at(fParsedPath) != nil || n.at(fParsedQuery) != nil {
		if in.Request == nil {
			return append(b, 0)
		}
		b = appendString(append(b, 1), in.Request.Path)
	}
	if n.readsBody() {
		b = in.Request.appendBodyKey(b)
	}
	return b
}

// appendBodyKey encodes everything the body's members of the input derive from: the
// bytes, whether they were cut, and the content-type and content-length headers
// (parsed_body's parser and truncation test), whether the policy reads headers or not.
func (r *Request) appendBodyKey(b []byte) []byte {
	if r == nil || r.Body == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	if r.BodyTruncated {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = append(binary.AppendUvarint(b, uint64(len(r.Body))), r.Body...)
	for _, h := range [...]string{"content-type", "content-length"} {
		if v, ok := r.Headers[h]; ok {
			b = appendString(append(b, 1), v)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

func (p *Peer) appendKey(b []byte, n *need) []byte {
	if n.at(fPrincipal) != nil {
		b = appendString(b, p.Principal)
	}
	if l := n.at(fLabels); l != nil {
		b = appendMap(b, p.Labels, l)
	}
	if n.at(fAddress) != nil {
		b = appendString(b, p.Address) // "" builds no address: still a distinct key
	}
	return b
}

// appendKey of a nil request (an L4 connection) differs from every request's.
func (r *Request) appendKey(b []byte, n *need) []byte {
	if r == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	for _, f := range [...]struct {
		name field
		val  string
	}{
		{fMethod, r.Method}, {fPath, r.Path}, {fHost, r.Host},
		{fScheme, r.Scheme}, {fProtocol, r.Protocol},
	} {
		if n.at(f.name) != nil {
			b = appendString(b, f.val)
		}
	}
	if h := n.at(fHeaders); h != nil {
		b = appendMap(b, r.Headers, h)
	}
	return b
}

// appendMap encodes labels or headers the way stringMap selects them: the names n
// reads (present or not, in n's sorted order) while fewer than maxPairs are present,
// else the whole map in key order.
func appendMap(b []byte, m map[string]string, n *need) []byte {
	if !n.all && presentCount(m, n) < maxPairs {
		b = append(b, 'p')
		for _, k := range n.names {
			if v, ok := m[k]; ok {
				b = appendString(append(b, 1), v)
			} else {
				b = append(b, 0)
			}
		}
		return b
	}
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(append(b, 'w'), uint64(len(keys)))
	for _, k := range keys {
		b = appendString(appendString(b, k), m[k])
	}
	return b
}

func presentCount(m map[string]string, n *need) int {
	c := 0
	for _, k := range n.names {
		if _, ok := m[k]; ok {
			c++
		}
	}
	return c
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}
