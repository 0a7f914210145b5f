package rego

import "github.com/open-policy-agent/opa/v1/ast"

// terms holds immutable input terms prepared once per revision and shared by every
// decision. Evaluation never mutates terms (OPA itself shares interned terms and
// store values between evaluations), so sharing is safe; an input built from them is
// the same value as one built fresh, minus the allocations.
//
//   - strs: one term per string constant of the compiled policy (and per input key
//     it reads). Allowed requests consist of exactly these values.
//   - shared: the one-member objects along single-key input paths, e.g.
//     {"labels": {"org": "empire"}} or {"http": {"method": "POST"}}, for every
//     constant the leaf can hold, keyed by their (key term, value term) pointers.
type terms struct {
	strs   map[string]*ast.Term
	values []*ast.Term // the terms of strs
	shared map[[2]*ast.Term]*ast.Term
}

const (
	maxStrs        = 1 << 14 // bounds strs for policies with huge literal sets
	maxSharedStrs  = 512     // share objects only for policies with few constants
	maxSharedTerms = 1 << 13 // and never keep more than this many
)

// schemaKeys are the key terms the input builder uses for the input's fixed keys.
var schemaKeys = map[string]*ast.Term{
	"attributes": kAttributes, "source": kSource, "destination": kDestination,
	"request": kRequest, "http": kHttp, "headers": kHeaders, "parsed_path": kParsedPath,
	"parsed_query": kParsedQuery, "principal": kPrincipal, "labels": kLabels,
	"address": kAddress, "method": kMethod, "path": kPath, "host": kHost,
	"scheme": kScheme, "protocol": kProtocol, "parsed_body": kParsedBody,
	"truncated_body": kTruncatedBody, "body": kBody, "raw_body": kRawBody, "rawBody": kRawBodyCamel,
}

func (tb *terms) str(s string) *ast.Term {
	if tb != nil {
		if t, ok := tb.strs[s]; ok {
			return t
		}
	}
	return ast.StringTerm(s)
}

// object returns the shared object whose only member is kv, or nil.
func (tb *terms) object(kv [2]*ast.Term) *ast.Term {
	if tb == nil {
		return nil
	}
	return tb.shared[kv]
}

// newTerms collects the modules' string constants and n's keys, then prepares the
// shared single-member objects along n.
func newTerms(modules map[string]*ast.Module, n *need) *terms {
	tb := &terms{strs: map[string]*ast.Term{}}
	add := func(s string) {
		if _, ok := tb.strs[s]; !ok && len(tb.strs) < maxStrs {
			t := ast.StringTerm(s)
			tb.strs[s] = t
			tb.values = append(tb.values, t)
		}
	}
	for _, m := range modules {
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if s, ok := t.Value.(ast.String); ok {
				add(string(s))
			}
			return false
		})
	}
	walkNeed(n, func(key string, _ *need) { add(key) })
	if len(tb.strs) <= maxSharedStrs {
		tb.shared = map[[2]*ast.Term]*ast.Term{}
		memo := map[*need][]*ast.Term{}
		walkNeed(n, func(_ string, kid *need) { tb.share(kid, memo) })
	}
	return tb
}

// share returns the shared terms that can stand for the value at node n, creating
// the single-member objects for a node with one key.
func (tb *terms) share(n *need, memo map[*need][]*ast.Term) []*ast.Term {
	if out, ok := memo[n]; ok {
		return out
	}
	var out []*ast.Term
	switch {
	case n.all: // a leaf read whole: a string constant, if anything shared
		out = tb.values
	case len(n.kids) == 1:
		for key, kid := range n.kids {
			vals := tb.share(kid, memo)
			for _, k := range tb.keyTerms(key) {
				for _, v := range vals {
					if len(tb.shared) >= maxSharedTerms {
						break
					}
					pair := [2]*ast.Term{k, v}
					t := ast.NewTerm(ast.NewObject(pair))
					tb.shared[pair] = t
					out = append(out, t)
				}
			}
		}
	}
	memo[n] = out
	return out
}

// keyTerms are the terms the builder may use as the key k: the fixed schema term
// and, for label and header names, the constant's term.
func (tb *terms) keyTerms(k string) []*ast.Term {
	var out []*ast.Term
	if t, ok := schemaKeys[k]; ok {
		out = append(out, t)
	}
	if t, ok := tb.strs[k]; ok {
		out = append(out, t)
	}
	return out
}

// walkNeed calls fn for every node below n with the key leading to it.
func walkNeed(n *need, fn func(key string, kid *need)) {
	for k, kid := range n.kids {
		fn(k, kid)
		walkNeed(kid, fn)
	}
}
