package rego

import (
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Object keys of the input, made once: they are never mutated, and sharing them
// saves two allocations per key per decision.
var (
	kAttributes, kSource, kDestination = ast.StringTerm("attributes"), ast.StringTerm("source"), ast.StringTerm("destination")
	kRequest, kHttp, kHeaders          = ast.StringTerm("request"), ast.StringTerm("http"), ast.StringTerm("headers")
	kParsedPath, kParsedQuery          = ast.StringTerm("parsed_path"), ast.StringTerm("parsed_query")
	kPrincipal, kLabels, kAddress      = ast.StringTerm("principal"), ast.StringTerm("labels"), ast.StringTerm("address")
	kSocketAddress, kPortValue         = ast.StringTerm("socketAddress"), ast.StringTerm("portValue")
	kMethod, kPath, kHost              = ast.StringTerm("method"), ast.StringTerm("path"), ast.StringTerm("host")
	kScheme, kProtocol                 = ast.StringTerm("scheme"), ast.StringTerm("protocol")
)

// value builds in as OPA-Envoy's ext_authz input, directly as an ast.Value (no JSON
// round trip), keeping only the parts marked in n. Pass everything() for all of it.
//
//	{"attributes": {"source": PEER, "destination": PEER,
//	                "request": {"http": {method, path, host, headers, scheme, protocol}}},
//	 "parsed_path": [...], "parsed_query": {k: [v, ...]}}
//
// PEER is {"principal", "labels", "address": {"socketAddress": {"address", "portValue"}}},
// the shape Envoy gives OPA-Envoy, so its policies run unchanged.
func (in *Input) value(n *need, tb *terms) ast.Value {
	if in == nil || n == nil {
		return ast.NewObject()
	}
	var kv pairs
	if a := n.at(fAttributes); a != nil {
		kv.add(kAttributes, in.attributes(a, tb))
	}
	if in.Request != nil {
		if n.at(fParsedPath) != nil {
			kv.add(kParsedPath, ast.NewTerm(parsedPath(in.Request.Path, tb)))
		}
		if n.at(fParsedQuery) != nil {
			kv.add(kParsedQuery, ast.NewTerm(parsedQuery(in.Request.Path)))
		}
	}
	return ast.NewObject(kv.kv[:kv.n]...)
}

// AST returns the whole input as an ast.Value; what the decision log records.
func (in *Input) AST() ast.Value { return in.value(everything(), nil) }

// maxPairs bounds the members pairs holds; a label or header map with more read
// names present is converted whole (appendMap mirrors that choice).
const maxPairs = 6

// pairs collects an object's members on the stack so the object is built in one
// call with its final size (inserting one by one grows its map and key slice).
type pairs struct {
	kv [maxPairs][2]*ast.Term
	n  int
}

func (p *pairs) add(k, v *ast.Term) {
	p.kv[p.n] = [2]*ast.Term{k, v}
	p.n++
}

// term returns the object, shared from tb when one with exactly this member exists.
func (p *pairs) term(tb *terms) *ast.Term {
	if p.n == 1 {
		if t := tb.object(p.kv[0]); t != nil {
			return t
		}
	}
	return ast.NewTerm(ast.NewObject(p.kv[:p.n]...))
}

func (in *Input) attributes(n *need, tb *terms) *ast.Term {
	var kv pairs
	if s := n.at(fSource); s != nil {
		kv.add(kSource, in.Source.value(s, tb))
	}
	if d := n.at(fDestination); d != nil {
		kv.add(kDestination, in.Destination.value(d, tb))
	}
	if r := n.at(fRequest); r != nil && in.Request != nil {
		if h := r.at(fHTTP); h != nil {
			var req pairs
			req.add(kHttp, in.Request.value(h, tb))
			kv.add(kRequest, req.term(tb))
		}
	}
	return kv.term(tb)
}

func (p *Peer) value(n *need, tb *terms) *ast.Term {
	var kv pairs
	if n.at(fPrincipal) != nil {
		kv.add(kPrincipal, tb.str(p.Principal))
	}
	if l := n.at(fLabels); l != nil {
		kv.add(kLabels, stringMap(p.Labels, l, tb))
	}
	if n.at(fAddress) != nil && p.Address != "" {
		kv.add(kAddress, ast.NewTerm(socketAddress(p.Address)))
	}
	return kv.term(tb)
}

func (r *Request) value(n *need, tb *terms) *ast.Term {
	var kv pairs
	for _, f := range [...]struct {
		name field
		key  *ast.Term
		val  string
	}{
		{fMethod, kMethod, r.Method}, {fPath, kPath, r.Path}, {fHost, kHost, r.Host},
		{fScheme, kScheme, r.Scheme}, {fProtocol, kProtocol, r.Protocol},
	} {
		if n.at(f.name) != nil {
			kv.add(f.key, tb.str(f.val))
		}
	}
	if h := n.at(fHeaders); h != nil {
		kv.add(kHeaders, stringMap(r.Headers, h, tb))
	}
	return kv.term(tb)
}

// stringMap converts labels or headers, keeping only the keys n names.
func stringMap(m map[string]string, n *need, tb *terms) *ast.Term {
	if !n.all {
		var kv pairs
		for k := range n.kids {
			if v, ok := m[k]; ok && kv.n < len(kv.kv) {
				kv.add(tb.str(k), tb.str(v))
			}
		}
		if kv.n < len(kv.kv) {
			return kv.term(tb)
		}
	}
	obj := ast.NewObjectWithCapacity(len(m))
	for k, v := range m {
		obj.Insert(tb.str(k), tb.str(v))
	}
	return ast.NewTerm(obj)
}

// socketAddress splits "ip:port" into Envoy's {"socketAddress": {address, portValue}}.
func socketAddress(addr string) ast.Value {
	host, port := addr, 0
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		if p, err := strconv.Atoi(addr[i+1:]); err == nil {
			host, port = strings.Trim(addr[:i], "[]"), p
		}
	}
	sa := ast.NewObject(
		[2]*ast.Term{kAddress, ast.StringTerm(host)},
		[2]*ast.Term{kPortValue, ast.IntNumberTerm(port)},
	)
	return ast.NewObject([2]*ast.Term{kSocketAddress, ast.NewTerm(sa)})
}

// parsedPath splits the path (query removed) into unescaped segments the way
// OPA-Envoy does: "/v1/request-landing" → ["v1", "request-landing"], "/" → [""].
func parsedPath(p string, tb *terms) ast.Value {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimLeft(p, "/")
	segs := make([]*ast.Term, 0, strings.Count(p, "/")+1)
	for {
		seg, rest, more := strings.Cut(p, "/")
		if strings.IndexByte(seg, '%') >= 0 {
			if u, err := url.PathUnescape(seg); err == nil {
				seg = u
			}
		}
		segs = append(segs, tb.str(seg))
		if !more {
			return ast.NewArray(segs...)
		}
		p = rest
	}
}

// parsedQuery decodes the query string into {key: [values...]} like OPA-Envoy.
func parsedQuery(p string) ast.Value {
	obj := ast.NewObject()
	i := strings.IndexByte(p, '?')
	if i < 0 {
		return obj
	}
	q, _ := url.ParseQuery(p[i+1:]) // keeps what parsed; the proxy already validated escapes
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := make([]*ast.Term, len(q[k]))
		for j, v := range q[k] {
			vals[j] = ast.StringTerm(v)
		}
		obj.Insert(ast.StringTerm(k), ast.ArrayTerm(vals...))
	}
	return obj
}
