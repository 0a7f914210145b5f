package rego

import "github.com/open-policy-agent/opa/v1/ast"

// flatCache is a topdown.VirtualCache (memoized rule results for one evaluation) kept
// as short lists scanned linearly. OPA's default builds a hash trie per evaluation,
// a dozen allocations for a policy that caches two refs; this costs one. Frames past
// maxFlatEntries stop memoizing new refs: results are recomputed, never wrong.
type flatCache struct {
	frames [][]cacheEntry
	inline [4][]cacheEntry // backing for frames, so shallow `with` nesting allocates nothing
	first  [8]cacheEntry   // backing for the bottom frame
}

type cacheEntry struct {
	ref       ast.Ref
	value     *ast.Term
	undefined bool
}

const maxFlatEntries = 64

func (c *flatCache) init() { c.frames = append(c.inline[:0], c.first[:0]) }

func (c *flatCache) Push() { c.frames = append(c.frames, nil) }

func (c *flatCache) Pop() { c.frames = c.frames[:len(c.frames)-1] }

func (c *flatCache) top() *[]cacheEntry { return &c.frames[len(c.frames)-1] }

func (c *flatCache) Get(ref ast.Ref) (*ast.Term, bool) {
	for _, e := range *c.top() {
		if e.ref.Equal(ref) {
			return e.value, e.undefined
		}
	}
	return nil, false
}

func (c *flatCache) Put(ref ast.Ref, value *ast.Term) {
	frame := c.top()
	for i := range *frame {
		if e := &(*frame)[i]; e.ref.Equal(ref) {
			e.value, e.undefined = value, value == nil
			return
		}
	}
	if len(*frame) < maxFlatEntries {
		// The slice is copied (callers pass views of buffers they reuse); its terms are
		// shared, as OPA's own cache shares them.
		*frame = append(*frame, cacheEntry{ref: append(ast.Ref(nil), ref...), value: value, undefined: value == nil})
	}
}

func (c *flatCache) Keys() []ast.Ref {
	var keys []ast.Ref
	for _, e := range *c.top() {
		if e.value != nil {
			keys = append(keys, e.ref)
		}
	}
	return keys
}
