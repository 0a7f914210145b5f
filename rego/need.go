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
	names []string // the keys of kids, sorted: the decision-cache key's order
}

// everything is a trie that keeps the whole input (used for decision logs and when a
// policy reads input in a way the analysis cannot bound).
func everything() *need { return &need{all: true} }

// child returns the trie for key, or nil when nothing under key is read.
func (n *need) child(key string) *need {
	if n == nil {
		return nil
	}
	if n.all {
		return n
	}
	return n.kids[key]
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
