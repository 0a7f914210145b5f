package rego

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// Engine decides requests with the active bundle revision. Decide is safe for
// concurrent use and takes no lock: loads prepare a new revision aside and swap it in
// with one atomic store, so every decision sees exactly one revision.
type Engine struct {
	opts     options
	decision ast.Ref
	logPath  string // decision path as OPA's decision log writes it: rampart/authz/allow

	cur atomic.Pointer[revision]

	loadMu  sync.Mutex                // serializes loads; decisions never take it
	bundles map[string]*bundle.Bundle // last good set, guarded by loadMu

	metrics *engineMetrics
	log     *decisionLogger

	idPrefix string
	seq      atomic.Uint64
}

// New returns an engine with no bundle: until one loads, every decision is a deny
// whose reason says so.
func New(opts ...Option) (*Engine, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	o.setDefaults()
	ref, err := decisionRef(o.decision)
	if err != nil {
		return nil, fmt.Errorf("rego: decision %q: %w", o.decision, err)
	}
	o.decision = ref.String()
	m, err := newEngineMetrics(o.registerer)
	if err != nil {
		return nil, fmt.Errorf("rego: metrics: %w", err)
	}
	e := &Engine{
		opts:     o,
		decision: ref,
		logPath:  refPath(ref),
		bundles:  map[string]*bundle.Bundle{},
		metrics:  m,
		idPrefix: randomPrefix(),
	}
	if o.decisionLog != nil {
		e.log = newDecisionLogger(o.decisionLog, o.maskHeaders)
	}
	return e, nil
}

// decisionRef parses a decision path given as a ref under data
// ("data.envoy.authz.allow") or in OPA-Envoy's `path` form ("envoy/authz/allow",
// a leading "/" allowed).
func decisionRef(s string) (ast.Ref, error) {
	var ref ast.Ref
	if s == "data" || strings.HasPrefix(s, "data.") || strings.HasPrefix(s, "data[") {
		r, err := ast.ParseRef(s)
		if err != nil {
			return nil, err
		}
		ref = r
	} else {
		segs := strings.Split(strings.TrimPrefix(s, "/"), "/")
		ref = ast.Ref{ast.DefaultRootDocument}
		for _, seg := range segs {
			if seg == "" {
				return nil, fmt.Errorf("empty segment in path %q", s)
			}
			ref = append(ref, ast.StringTerm(seg))
		}
	}
	if !ref.HasPrefix(ast.DefaultRootRef) || !ref.IsGround() || len(ref) < 2 {
		return nil, fmt.Errorf("want a constant path under data (data.a.b or a/b)")
	}
	return ref, nil
}

// Ready reports whether a bundle owning the decision path (its manifest roots contain
// it) is loaded, i.e. whether decisions can allow at all.
func (e *Engine) Ready() bool {
	r := e.cur.Load()
	return r != nil && r.owner != ""
}

// Revision returns the revision of the bundle that owns the decision path (the
// bundle whose roots contain it), or "" when none is loaded.
func (e *Engine) Revision() string {
	if r := e.cur.Load(); r != nil {
		return r.revision
	}
	return ""
}

// Revisions returns every active bundle's revision by bundle name.
func (e *Engine) Revisions() map[string]string {
	out := map[string]string{}
	if r := e.cur.Load(); r != nil {
		for k, v := range r.revisions {
			out[k] = v
		}
	}
	return out
}

// Decision returns the decision path the engine evaluates.
func (e *Engine) Decision() string { return e.opts.decision }

// nextID returns a decision_id unique within the process: a random engine prefix plus
// a counter, which is far cheaper per decision than a random UUID.
func (e *Engine) nextID() string {
	var buf [40]byte
	b := append(buf[:0], e.idPrefix...)
	b = strconv.AppendUint(b, e.seq.Add(1), 10)
	return string(b)
}

func randomPrefix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:]) + "-"
}

// BodyPolicy says whether the current policy reads request bodies and how much of
// one to buffer: Read only when bodies are turned on (WithRequestBody or the owning
// bundle's manifest) and the compiled policy references a body field.
func (e *Engine) BodyPolicy() BodyPolicy {
	if r := e.cur.Load(); r != nil {
		return r.body
	}
	return BodyPolicy{}
}
