package rego

import (
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
)

// DefaultDecisionCache is how many distinct inputs a revision remembers decisions for
// unless WithDecisionCache says otherwise.
const DefaultDecisionCache = 4096

// decisionCache memoizes one revision's decisions by the input they were made on,
// pruned to the fields the policy can read. It exists only for revisions whose policies
// call no non-deterministic builtin (time, http.send, rand, ...), so the same pruned
// input under the same revision always evaluates to the same value. Reads take no
// lock; once full, new inputs are still evaluated but no longer stored, so a stream of
// unique paths costs evaluation time, never memory.
type decisionCache struct {
	m   sync.Map // pruned input, as Rego text → ast.Value
	n   atomic.Int64
	max int64
}

// newDecisionCache returns nil (no caching) when size ≤ 0 or a module is not
// deterministic.
func newDecisionCache(size int, modules map[string]*ast.Module) *decisionCache {
	if size <= 0 || !deterministic(modules) {
		return nil
	}
	return &decisionCache{max: int64(size)}
}

func (c *decisionCache) get(key string) (ast.Value, bool) {
	v, ok := c.m.Load(key)
	if !ok {
		return nil, false
	}
	return v.(ast.Value), true
}

func (c *decisionCache) put(key string, v ast.Value) {
	if c.n.Load() >= c.max {
		return
	}
	if _, loaded := c.m.LoadOrStore(key, v); !loaded {
		c.n.Add(1)
	}
}

// deterministic reports whether no module calls a builtin OPA marks non-deterministic
// (or one it does not know, which could be anything).
func deterministic(modules map[string]*ast.Module) bool {
	ok := true
	check := func(op ast.Ref) {
		if b, found := ast.BuiltinMap[op.String()]; !found || b.Nondeterministic {
			if !found && isUserFunction(modules, op) {
				return
			}
			ok = false
		}
	}
	for _, m := range modules {
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			if x.IsCall() {
				check(x.Operator())
			}
			return !ok
		})
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if c, isCall := t.Value.(ast.Call); isCall && len(c) > 0 {
				if ref, isRef := c[0].Value.(ast.Ref); isRef {
					check(ref)
				}
			}
			return !ok
		})
		if !ok {
			return false
		}
	}
	return ok
}

// isUserFunction reports whether op names a function defined in the modules (a call to
// data.<pkg>.f): its body is walked on its own, so the call itself is harmless.
func isUserFunction(modules map[string]*ast.Module, op ast.Ref) bool {
	for _, m := range modules {
		for _, r := range m.Rules {
			if len(r.Head.Args) > 0 && r.Path().Equal(op) {
				return true
			}
		}
	}
	return false
}
