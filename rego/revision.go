package rego

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// revision is one prepared, immutable policy state: the compiled bundles, their data,
// and the decision query prepared against them. It is swapped in whole.
type revision struct {
	query     ast.Body // decision = <decision path>, compiled once
	qc        ast.QueryCompiler
	txn       storage.Transaction // read transaction held for the revision's lifetime
	need      *need               // input paths the policy reads
	terms     *terms              // input terms shared by every decision
	revision  string              // revision of the bundle owning the decision path
	revisions map[string]string   // every bundle's revision by name
	dryRun    bool                // the owning bundle asked for dry-run
	owner     string              // bundle whose roots hold the decision path; "" none
	body      BodyPolicy          // whether and how much of bodies the proxy buffers
	compiler  *ast.Compiler
	store     storage.Store
	cache     *decisionCache // nil: every decision is evaluated
	egress    egressQueries  // the egress decision (egress.go)
}

// prepare activates bundles into a fresh store and compiler (OPA's own activation,
// which also refuses overlapping roots and data outside a bundle's roots) and prepares
// the decision query once (compiled against this compiler, evaluated per request).
func (e *Engine) prepare(ctx context.Context, bundles map[string]*bundle.Bundle) (*revision, error) {
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	compiler := ast.NewCompiler()
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	err = bundle.Activate(&bundle.ActivateOpts{
		Ctx: ctx, Store: store, Txn: txn, Compiler: compiler,
		Metrics: metrics.New(), Bundles: bundles,
	})
	if err != nil {
		store.Abort(ctx, txn)
		return nil, fmt.Errorf("activate: %w", err)
	}
	if err := store.Commit(ctx, txn); err != nil {
		return nil, fmt.Errorf("commit store: %w", err)
	}
	// The store is never written again, so one read transaction can serve every
	// evaluation of this revision without taking the store's lock per request.
	rtxn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("open read transaction: %w", err)
	}
	qc := compiler.QueryCompiler()
	query, err := qc.Compile(ast.NewBody(ast.Equality.Expr(ast.NewTerm(decisionVar), ast.NewTerm(e.decision))))
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", e.opts.decision, err)
	}
	r := &revision{
		query: query, qc: qc, txn: rtxn, need: inputNeeds(compiler.Modules),
		revisions: map[string]string{}, compiler: compiler, store: store,
	}
	r.terms = newTerms(compiler.Modules, r.need)
	r.cache = newDecisionCache(e.opts.cacheSize, compiler.Modules)
	owner := ownerOf(bundles, e.decision)
	if err := r.prepareEgress(ownerOf(bundles, egressAllowRef)); err != nil {
		return nil, err
	}
	for name, b := range bundles {
		r.revisions[name] = b.Manifest.Revision
	}
	r.owner = owner
	maxBytes := e.opts.bodyBytes
	if b := bundles[owner]; b != nil {
		r.revision, r.dryRun = b.Manifest.Revision, manifestDryRun(b.Manifest)
		if n, ok := manifestRequestBody(b.Manifest); ok {
			maxBytes = n
		}
	}
	if maxBytes > 0 && r.need.readsBody() {
		r.body = BodyPolicy{Read: true, MaxBytes: maxBytes}
	}
	return r, nil
}

// decisionVar captures the decision's value in the compiled query.
const decisionVar = ast.Var("rampart_decision")

// ownerOf returns the name of the bundle whose roots contain the decision path.
func ownerOf(bundles map[string]*bundle.Bundle, decision ast.Ref) string {
	path := refPath(decision)
	names := make([]string, 0, len(bundles))
	for name := range bundles {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, root := range *bundles[name].Manifest.Roots {
			if root == "" || under(path, root) {
				return name
			}
		}
	}
	return ""
}

// refPath turns data.a.b into "a/b", the form of manifest roots.
func refPath(ref ast.Ref) string {
	parts := make([]string, 0, len(ref)-1)
	for _, t := range ref[1:] {
		if s, ok := t.Value.(ast.String); ok {
			parts = append(parts, string(s))
		}
	}
	return strings.Join(parts, "/")
}

// manifestDryRun reads {"metadata": {"rampart": {"dry_run": true}}}.
func manifestDryRun(m bundle.Manifest) bool {
	r, _ := m.Metadata["rampart"].(map[string]any)
	on, _ := r["dry_run"].(bool)
	return on
}

// manifestRequestBody reads the bundle's body opt-in,
// {"metadata": {"rampart": {"request_body": true | {"max_bytes": N}}}}, as a size.
func manifestRequestBody(m bundle.Manifest) (int, bool) {
	r, _ := m.Metadata["rampart"].(map[string]any)
	switch v := r["request_body"].(type) {
	case bool:
		return DefaultRequestBodyBytes, v
	case map[string]any:
		n := DefaultRequestBodyBytes
		if f, ok := v["max_bytes"].(float64); ok && f > 0 {
			n = int(min(f, MaxRequestBodyBytes))
		} else if num, ok := v["max_bytes"].(json.Number); ok {
			if i, err := num.Int64(); err == nil && i > 0 {
				n = int(min(i, MaxRequestBodyBytes))
			}
		}
		return n, true
	}
	return 0, false
}

// errorFile pulls the file name out of OPA compile errors so a refused bundle names
// the file at fault.
func errorFile(err error) string {
	var errs ast.Errors
	if errors.As(err, &errs) && len(errs) > 0 && errs[0].Location != nil {
		return errs[0].Location.File
	}
	return ""
}
