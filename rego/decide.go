package rego

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Deny defaults, used unless the policy returns its own (DESIGN.md contract).
const (
	DenyStatus = 403
	DenyBody   = "Access denied"
)

// Decide evaluates the decision for in. It never fails open: with no bundle, an
// undefined or malformed decision, an evaluation error or a timeout the request is
// denied (403 "Access denied") and Reason says why.
func (e *Engine) Decide(ctx context.Context, in *Input) Decision {
	start := time.Now()
	rev := e.cur.Load()
	var (
		result ast.Value
		err    = ErrNoBundle
	)
	if rev != nil {
		result, err = e.eval(ctx, rev, in)
	}
	d := e.interpret(rev, result, err)
	d.ID = e.nextID()
	took := time.Since(start)
	e.metrics.decided(d, err, took)
	if e.log != nil {
		e.log.write(e.opts.now(), e.opts.decision, in, result, err, d, rev, took)
	}
	return d
}

// eval runs the prepared query once, bounded by the engine timeout and ctx.
func (e *Engine) eval(ctx context.Context, rev *revision, in *Input) (ast.Value, error) {
	cancel := topdown.NewCancel()
	timer := time.AfterFunc(e.opts.timeout, cancel.Cancel)
	defer timer.Stop()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, cancel.Cancel)
		defer stop()
	}
	rs, err := rev.pq.Eval(ctx,
		rego.EvalParsedInput(in.value(rev.need)),
		rego.EvalTransaction(rev.txn),
		rego.EvalMetrics(metrics.NoOp()),
		rego.EvalExternalCancel(cancel),
		rego.EvalGenerateJSON(keepAST),
	)
	switch {
	case err != nil && isCancel(err) && ctx.Err() != nil:
		return nil, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	case err != nil && isCancel(err):
		return nil, fmt.Errorf("%w after %v", ErrTimeout, e.opts.timeout)
	case err != nil:
		return nil, fmt.Errorf("evaluation error: %w", err)
	case len(rs) == 0 || len(rs[0].Expressions) == 0:
		return nil, ErrUndefined
	}
	v, _ := rs[0].Expressions[0].Value.(ast.Value)
	return v, nil
}

// keepAST hands back the result as an ast.Value: converting it to Go values only to
// read one boolean would cost allocations on every decision.
func keepAST(t *ast.Term, _ *rego.EvalContext) (any, error) { return t.Value, nil }

func isCancel(err error) bool {
	var te *topdown.Error
	return errors.As(err, &te) && te.Code == topdown.CancelErr
}

// interpret turns a result (or a failure) into a Decision, applying dry-run to
// policy denies only.
func (e *Engine) interpret(rev *revision, result ast.Value, err error) Decision {
	d := Decision{HTTPStatus: DenyStatus, Body: DenyBody}
	if rev != nil {
		d.Revision = rev.revision
	}
	if err == nil {
		err = fromResult(result, &d)
	}
	switch {
	case errors.Is(err, ErrUndefined):
		d.Allowed, d.Reason = false, fmt.Sprintf("%v: %s", err, e.opts.decision)
	case err != nil:
		d.Allowed, d.Reason = false, err.Error()
		return d // engine failures deny even in dry-run
	}
	switch {
	case !d.Allowed && (e.opts.dryRun || rev.dryRun):
		d.Allowed, d.DryRun = true, true // status and body stay: what would have been sent
	case d.Allowed:
		d.HTTPStatus, d.Body = 0, ""
	}
	return d
}
