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
func (in *Input) value(n *need, st strTable) ast.Value {
	if in == nil || n == nil {
		return ast.NewObject()
	}
	var kv pairs
	if a := n.child("attributes"); a != nil {
		kv.add(kAttributes, in.attributes(a, st))
	}
	if in.Request != nil {
		if n.child("parsed_path") != nil {
			kv.add(kParsedPath, parsedPath(in.Request.Path, st))
		}
		if n.child("parsed_query") != nil {
			kv.add(kParsedQuery, parsedQuery(in.Request.Path))
		}
	}
	return kv.object()
}

// AST returns the whole input as an ast.Value; what the decision log records.
func (in *Input) AST() ast.Value { return in.value(everything(), nil) }

// pairs collects an object's members on the stack so the object is built in one
// call with its final size (inserting one by one grows its map and key slice).
type pairs struct {
	kv [6][2]*ast.Term
	n  int
}

func (p *pairs) add(k *ast.Term, v ast.Value) { p.addTerm(k, ast.NewTerm(v)) }

func (p *pairs) addTerm(k, v *ast.Term) {
	p.kv[p.n] = [2]*ast.Term{k, v}
	p.n++
}

func (p *pairs) object() ast.Value { return ast.NewObject(p.kv[:p.n]...) }

func (in *Input) attributes(n *need, st strTable) ast.Value {
	var kv pairs
	if s := n.child("source"); s != nil {
		kv.add(kSource, in.Source.value(s, st))
	}
	if d := n.child("destination"); d != nil {
		kv.add(kDestination, in.Destination.value(d, st))
	}
	if r := n.child("request"); r != nil && in.Request != nil {
		if h := r.child("http"); h != nil {
			kv.add(kRequest, ast.NewObject([2]*ast.Term{kHttp, ast.NewTerm(in.Request.value(h, st))}))
		}
	}
	return kv.object()
}

func (p *Peer) value(n *need, st strTable) ast.Value {
	var kv pairs
	if n.child("principal") != nil {
		kv.addTerm(kPrincipal, st.term(p.Principal))
	}
	if l := n.child("labels"); l != nil {
		kv.add(kLabels, stringMap(p.Labels, l, st))
	}
	if n.child("address") != nil && p.Address != "" {
		kv.add(kAddress, socketAddress(p.Address))
	}
	return kv.object()
}

func (r *Request) value(n *need, st strTable) ast.Value {
	var kv pairs
	for _, f := range [...]struct {
		name string
		key  *ast.Term
		val  string
	}{
		{"method", kMethod, r.Method}, {"path", kPath, r.Path}, {"host", kHost, r.Host},
		{"scheme", kScheme, r.Scheme}, {"protocol", kProtocol, r.Protocol},
	} {
		if n.child(f.name) != nil {
			kv.addTerm(f.key, st.term(f.val))
		}
	}
	if h := n.child("headers"); h != nil {
		kv.add(kHeaders, stringMap(r.Headers, h, st))
	}
	return kv.object()
}

// stringMap converts labels or headers, keeping only the keys n names.
func stringMap(m map[string]string, n *need, st strTable) ast.Value {
	if !n.all {
		var kv pairs
		for k := range n.kids {
			if v, ok := m[k]; ok && kv.n < len(kv.kv) {
				kv.addTerm(st.term(k), st.term(v))
			}
		}
		if kv.n < len(kv.kv) {
			return kv.object()
		}
	}
	obj := ast.NewObjectWithCapacity(len(m))
	for k, v := range m {
		obj.Insert(st.term(k), st.term(v))
	}
	return obj
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
func parsedPath(p string, st strTable) ast.Value {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimLeft(p, "/")
	terms := make([]*ast.Term, 0, strings.Count(p, "/")+1)
	for {
		seg, rest, more := strings.Cut(p, "/")
		if strings.IndexByte(seg, '%') >= 0 {
			if u, err := url.PathUnescape(seg); err == nil {
				seg = u
			}
		}
		terms = append(terms, st.term(seg))
		if !more {
			return ast.NewArray(terms...)
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
