package rego

import (
	"fmt"
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
	kParsedBody, kTruncatedBody        = ast.StringTerm("parsed_body"), ast.StringTerm("truncated_body")
	kBody, kRawBody, kRawBodyCamel     = ast.StringTerm("body"), ast.StringTerm("raw_body"), ast.StringTerm("rawBody")
)

// value builds in as OPA-Envoy's ext_authz input, directly as an ast.Value (no JSON
// round trip), keeping only the parts marked in n. Pass everything() for all of it.
//
//	{"attributes": {"source": PEER, "destination": PEER,
//	                "request": {"http": {method, path, host, headers, scheme, protocol,
//	                                     body | raw_body}}},
//	 "parsed_path": [...], "parsed_query": {k: [v, ...]},
//	 "parsed_body": ..., "truncated_body": bool}
//
// PEER is {"principal", "labels", "address": {"socketAddress": {"address", "portValue"}}},
// the shape Envoy gives OPA-Envoy, so its policies run unchanged. A field Rampart does
// not know (no principal, no labels, no body read) is absent, never empty: a policy's
// `not input.attributes.source.principal` must fire for an unauthenticated peer.
// body is the parsed body (from in.prepare), nil when no body was read.
func (in *Input) value(n *need, tb *terms, body *parsedBody) ast.Value {
	if in == nil || n == nil {
		return ast.NewObject()
	}
	var kv pairs
	if a := n.at(fAttributes); a != nil {
		kv.add(kAttributes, in.attributes(a, tb))
	}
	if r := in.Request; r != nil {
		if n.at(fParsedPath) != nil {
			kv.add(kParsedPath, ast.NewTerm(parsedPath(r.Path, tb)))
		}
		if n.at(fParsedQuery) != nil {
			kv.add(kParsedQuery, ast.NewTerm(parsedQuery(r.Path)))
		}
		if body != nil && n.at(fParsedBody) != nil {
			kv.add(kParsedBody, ast.NewTerm(body.value))
		}
		if body != nil && n.at(fTruncatedBody) != nil {
			kv.add(kTruncatedBody, ast.InternedTerm(body.truncated))
		}
	}
	return ast.NewObject(kv.kv[:kv.n]...)
}

// checkRequest refuses what OPA-Envoy cannot parse before evaluating (a path or
// query it cannot parse); the error denies the request.
func (in *Input) checkRequest() error {
	if in == nil || in.Request == nil {
		return nil
	}
	return checkTarget(in.Request.Path)
}

// parseBody parses the body when one was read and the policy under n can see it (nil
// otherwise). A body that does not parse as its content type is an error that denies.
func (in *Input) parseBody(n *need) (*parsedBody, error) {
	if in == nil || in.Request == nil || in.Request.Body == nil || !n.readsBody() {
		return nil, nil
	}
	b, err := in.Request.parseBody()
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// AST returns the whole input as an ast.Value; what the decision log records.
// A body that does not parse is logged as read, with parsed_body null.
func (in *Input) AST() ast.Value {
	all := everything()
	b, err := in.parseBody(all)
	if err != nil {
		b = &parsedBody{value: ast.Null{}, truncated: in.Request.BodyTruncated}
	}
	return in.value(all, nil, b)
}

// maxPairs bounds the members of a label or header map built key by key; a map with
// more read names present is converted whole (appendMap mirrors that choice).
const maxPairs = 6

// maxMembers bounds the members pairs holds: the most any fixed object of the input
// has (http: method, path, host, scheme, protocol, headers, body, raw_body, rawBody).
const maxMembers = 9

// pairs collects an object's members on the stack so the object is built in one
// call with its final size (inserting one by one grows its map and key slice).
type pairs struct {
	kv [maxMembers][2]*ast.Term
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
	if n.at(fPrincipal) != nil && p.Principal != "" {
		kv.add(kPrincipal, tb.str(p.Principal))
	}
	if l := n.at(fLabels); l != nil && len(p.Labels) > 0 {
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
		// method and path are always known; the others are absent when empty
		if n.at(f.name) != nil && (f.val != "" || f.name == fMethod || f.name == fPath) {
			kv.add(f.key, tb.str(f.val))
		}
	}
	if h := n.at(fHeaders); h != nil && len(r.Headers) > 0 {
		kv.add(kHeaders, stringMap(r.Headers, h, tb))
	}
	if r.Body != nil {
		r.bodyText(n, &kv)
	}
	return kv.term(tb)
}

// stringMap converts labels or headers, keeping only the keys n names.
func stringMap(m map[string]string, n *need, tb *terms) *ast.Term {
	if !n.all {
		var kv pairs
		for k := range n.kids {
			if v, ok := m[k]; ok && kv.n < maxPairs {
				kv.add(tb.str(k), tb.str(v))
			}
		}
		if kv.n < maxPairs {
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

// parsedPath splits the path (query removed) the way OPA-Envoy does: the whole path
// is unescaped first, then split on "/", so an encoded slash that reaches the policy
// (KeepSlashesEncoded in the proxy) splits a segment exactly as it does for
// OPA-Envoy: "/v1/request-landing" → ["v1", "request-landing"], "/" → [""],
// "/a%2Fb" → ["a", "b"], "/a%252F" → ["a%2F"]. checkTarget has refused a path
// that does not unescape.
func parsedPath(p string, tb *terms) ast.Value {
	p, _, _ = strings.Cut(p, "?")
	if strings.IndexByte(p, '%') >= 0 {
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
	}
	p = strings.TrimLeft(p, "/")
	segs := make([]*ast.Term, 0, strings.Count(p, "/")+1)
	for {
		seg, rest, more := strings.Cut(p, "/")
		segs = append(segs, tb.str(seg))
		if !more {
			return ast.NewArray(segs...)
		}
		p = rest
	}
}

// checkTarget refuses what OPA-Envoy cannot parse (its Check then fails, and Envoy
// denies): a path that does not unescape, a query url.ParseQuery rejects (";" as a
// separator, an invalid escape). The proxy answers such requests 400 before policy.
func checkTarget(p string) error {
	path, query, _ := strings.Cut(p, "?")
	if strings.IndexByte(path, '%') >= 0 {
		if _, err := url.PathUnescape(path); err != nil {
			return fmt.Errorf("%w: path: %w", ErrBadInput, err)
		}
	}
	if query != "" {
		if _, err := url.ParseQuery(query); err != nil {
			return fmt.Errorf("%w: query: %w", ErrBadInput, err)
		}
	}
	return nil
}

// parsedQuery decodes the query string into {key: [values...]} like OPA-Envoy.
func parsedQuery(p string) ast.Value {
	obj := ast.NewObject()
	i := strings.IndexByte(p, '?')
	if i < 0 {
		return obj
	}
	q, _ := url.ParseQuery(p[i+1:]) // checkTarget refused a query that does not parse
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
