package rego

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
)

// DefaultDecisionCache is how many distinct inputs a revision remembers decisions for
// unless WithDecisionCache says otherwise.
const DefaultDecisionCache = 4096

// MaxDecisionCache caps WithDecisionCache: the table's slots are allocated up front
// (16 bytes per decision it can hold), so a larger request is clamped to this.
const MaxDecisionCache = 1 << 20

// maxCachedBody bounds the body a cached decision's key may hold. Keys hold the
// request body when the policy reads it; without a bound a full cache could hold
// DefaultDecisionCache bodies of up to MaxRequestBodyBytes each (4 GiB). Requests
// with longer bodies are always evaluated.
const maxCachedBody = 2048

// largeBody reports a body the policy reads that is too long to be cached.
func (in *Input) largeBody(n *need) bool {
	return in != nil && in.Request != nil && len(in.Request.Body) > maxCachedBody && n.readsBody()
}

// decisionCache memoizes one revision's decisions by the input they were made on,
// pruned to the fields the policy can read (the key is Input.appendKey's encoding
// of exactly those fields). It exists only for revisions whose policies call no
// non-deterministic builtin (time, http.send, rand, ...), so the same pruned input
// under the same revision always evaluates to the same value. Once full, new inputs
// are still evaluated but no longer stored, so a stream of unique paths costs
// evaluation time, never memory.
//
// It is an insert-only open-addressing table of atomic pointers: lookups take no
// lock and allocate nothing (the key is looked up as bytes), entries are never
// removed or changed, and a hit is confirmed by comparing the whole key, so a hash
// collision can cost a miss, never a wrong decision. It costs 16 bytes of slots per
// decision it can hold.
type decisionCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[decisionEntry] // length a power of two, at least 2·max
	n     atomic.Int64
	max   int64
}

type decisionEntry struct {
	hash   uint64
	key    string
	result ast.Value
}

// newDecisionCache returns nil (no caching) when size ≤ 0 or a module is not
// deterministic.
func newDecisionCache(size int, modules map[string]*ast.Module) *decisionCache {
	if size <= 0 || !deterministic(modules) {
		return nil
	}
	size = min(size, MaxDecisionCache)
	slots := 1
	for slots < 2*size {
		slots <<= 1
	}
	return &decisionCache{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[decisionEntry], slots), max: int64(size)}
}

func (c *decisionCache) get(key []byte) (ast.Value, bool) {
	h := maphash.Bytes(c.seed, key)
	mask := uint64(len(c.slots) - 1)
	for i, probes := h&mask, 0; probes < len(c.slots); i, probes = (i+1)&mask, probes+1 {
		e := c.slots[i].Load()
		if e == nil {
			return nil, false
		}
		if e.hash == h && e.key == string(key) {
			return e.result, true
		}
	}
	return nil, false
}

func (c *decisionCache) put(key []byte, v ast.Value) {
	if c.n.Load() >= c.max {
		return
	}
	e := &decisionEntry{hash: maphash.Bytes(c.seed, key), key: string(key), result: v}
	mask := uint64(len(c.slots) - 1)
	for i, probes := e.hash&mask, 0; probes < len(c.slots); i, probes = (i+1)&mask, probes+1 {
		if c.slots[i].CompareAndSwap(nil, e) {
			c.n.Add(1)
			return
		}
		if cur := c.slots[i].Load(); cur.hash == e.hash && cur.key == e.key {
			return // a concurrent decision stored the same input first
		}
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
