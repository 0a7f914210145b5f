package rego

import "github.com/open-policy-agent/opa/v1/ast"

// strTable holds one immutable *ast.Term per string constant of the compiled policy
// (and per input key it reads). Input values equal to a constant, which is what
// allowed requests consist of, reuse its term instead of allocating two objects.
// Terms are never mutated by evaluation, so sharing them across decisions is safe.
type strTable map[string]*ast.Term

// maxStrTable bounds the table for policies with huge literal sets.
const maxStrTable = 1 << 14

func (st strTable) term(s string) *ast.Term {
	if t, ok := st[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// policyStrings collects the string constants of the modules and the keys of n.
func policyStrings(modules map[string]*ast.Module, n *need) strTable {
	st := strTable{}
	for _, m := range modules {
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if s, ok := t.Value.(ast.String); ok && len(st) < maxStrTable {
				st[string(s)] = ast.StringTerm(string(s))
			}
			return false
		})
	}
	var keys func(n *need)
	keys = func(n *need) {
		for k, kid := range n.kids {
			if len(st) < maxStrTable {
				st[k] = ast.StringTerm(k)
			}
			keys(kid)
		}
	}
	keys(n)
	return st
}
