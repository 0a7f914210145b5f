package rego

import (
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// need is the set of input paths a compiled policy can read, as a trie. Building only
// those parts of the input halves the cost of a decision (see RECIPES.md): most
// policies read a handful of fields out of dozens. A nil *need means "nothing under
// here is read"; all means "the whole subtree is read".
type need struct {
	all   bool
	kids  map[string]*need
	names []string         // the keys of kids, sorted: the decision-cache key's order
	fixed [numFields]*need // kids of the input's fixed keys, so a decision indexes an array
	body  bool             // root only: the policy can see the body (see readsBody)
}

// field is one of the fixed keys of the input (OPA-Envoy's shape); label and header
// names are the only keys that are not.
type field uint8

const (
	fAttributes field = iota
	fSource
	fDestination
	fRequest
	fHTTP
	fHeaders
	fParsedPath
	fParsedQuery
	fPrincipal
	fLabels
	fAddress
	fMethod
	fPath
	fHost
	fScheme
	fProtocol
	fParsedBody
	fTruncatedBody
	fBody
	fRawBody
	fRawBodyCamel
	numFields
)

// fieldNames spells each field as the input does.
var fieldNames = [numFields]string{"attributes", "source", "destination", "request", "http", "headers", "parsed_path", "parsed_query", "principal", "labels", "address", "method", "path", "host", "scheme", "protocol", "parsed_body", "truncated_body", "body", "raw_body", "rawBody"}

// readsBody reports whether a policy reading n can see the request body: the parsed
// body, the truncation flag, or the body itself (http.body, raw_body). Only then does
// the proxy buffer bodies, and only then does the body enter the decision-cache key.
func (n *need) readsBody() bool { return n != nil && (n.all || n.body) }

// findsBody walks the sealed trie for readsBody, once per revision.
func (n *need) findsBody() bool {
	if n.at(fParsedBody) != nil || n.at(fTruncatedBody) != nil {
		return true
	}
	h := n.at(fAttributes).at(fRequest).at(fHTTP)
	return h.at(fBody) != nil || h.at(fRawBody) != nil || h.at(fRawBodyCamel) != nil
}

// everything is a trie that keeps the whole input (used for decision logs and when a
// policy reads input in a way the analysis cannot bound).
func everything() *need { return &need{all: true} }

// at returns the trie for a fixed key, or nil when nothing under it is read. It
// indexes the array seal filled, so it is valid only on a sealed trie.
func (n *need) at(f field) *need {
	if n == nil {
		return nil
	}
	if n.all {
		return n
	}
	return n.fixed[f]
}

// add marks path (and everything under it) as read.
func (n *need) add(path []string) {
	for _, k := range path {
		if n.all {
			return
		}
		if n.kids == nil {
			n.kids = map[string]*need{}
		}
		next := n.kids[k]
		if next == nil {
			next = &need{}
			n.kids[k] = next
		}
		n = next
	}
	n.all, n.kids = true, nil
}

// inputNeeds walks every compiled module and returns the input paths they read. A ref
// like input.attributes.request.http.method marks that path; a ref whose next element
// is not a constant string (input.x[y]) marks its constant prefix; a bare `input`
// marks everything. Over-approximating is always safe; missing a path is not, so every
// term is visited, including the non-constant parts of refs.
func inputNeeds(modules map[string]*ast.Module) *need {
	root := &need{}
	var visit func(x any) bool
	visit = func(x any) bool {
		switch t := x.(type) {
		case ast.Ref:
			if !t.HasPrefix(ast.InputRootRef) {
				return false
			}
			root.add(constPrefix(t[1:]))
			for _, term := range t[1:] {
				ast.NewGenericVisitor(visit).Walk(term)
			}
			return true
		case *ast.With:
			// `with input as x` replaces input rather than reading it (tests do this).
			ast.NewGenericVisitor(visit).Walk(t.Value)
			return true
		case ast.Var:
			if t.Equal(ast.InputRootDocument.Value) {
				root.add(nil)
			}
		}
		return false
	}
	for _, m := range modules {
		ast.NewGenericVisitor(visit).Walk(m)
	}
	root.seal()
	root.body = root.findsBody()
	return root
}

// seal records every node's sorted key names; the trie is read-only afterwards.
func (n *need) seal() {
	n.names = n.names[:0]
	for k, kid := range n.kids {
		n.names = append(n.names, k)
		kid.seal()
	}
	sort.Strings(n.names)
	for f, name := range fieldNames {
		n.fixed[f] = n.kids[name]
	}
}

// constPrefix returns the leading constant string keys of a ref tail.
func constPrefix(tail ast.Ref) []string {
	var out []string
	for _, t := range tail {
		s, ok := t.Value.(ast.String)
		if !ok {
			break
		}
		out = append(out, string(s))
	}
	return out
}
