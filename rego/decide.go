package rego

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
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
		result, err = e.eval(ctx, rev, in, start, nil)
	}
	d := e.interpret(rev, result, err)
	d.ID = e.nextID()
	if e.opts.shadow != nil {
		e.shadowDecide(ctx, in, &d)
	}
	took := time.Since(start)
	e.metrics.decided(d, err, took)
	if e.log != nil {
		e.log.write(e.opts.now(), e.logPath, in, result, err, d, rev, took)
	}
	return d
}

// eval runs the compiled decision query once, bounded by the engine timeout and ctx.
// It drives topdown directly: the rego package's per-call setup (eval context,
// result set, JSON conversion) costs more than this policy's evaluation.
func (e *Engine) eval(ctx context.Context, rev *revision, in *Input, now time.Time, tracer topdown.QueryTracer) (ast.Value, error) {
	// The caller's ctx is checked once up front rather than watched (watching costs an
	// allocation and a lock per decision); the engine timeout bounds the evaluation.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	if rev.owner == "" {
		return nil, fmt.Errorf("%w: %s", ErrDecisionOutsideRoots, e.opts.decision)
	}
	if err := in.checkRequest(); err != nil {
		return nil, err
	}
	// The cache key is built straight from in; the ast input only on a miss. The key
	// holds the body whenever the policy can see it, so a hit is a body that parsed.
	var kb [256]byte
	var key []byte
	if rev.cache != nil && tracer == nil && !in.largeBody(rev.need) {
		key = in.appendKey(kb[:0], rev.need)
		if v, ok := rev.cache.get(key); ok {
			return v, nil
		}
	}
	body, err := in.parseBody(rev.need)
	if err != nil {
		return nil, err
	}
	input := in.value(rev.need, rev.terms, body)
	s := newScratch(now.Add(e.opts.timeout))
	q := topdown.NewQuery(rev.query).
		WithQueryCompiler(rev.qc).
		WithCompiler(rev.compiler).
		WithStore(rev.store).
		WithTransaction(rev.txn).
		WithInput(ast.NewTerm(input)).
		WithMetrics(metrics.NoOp()).
		WithCancel(&s.dl).
		WithIndexing(tracer == nil). // a traced run evaluates every body, to explain each
		WithEarlyExit(true).
		WithVirtualCache(&s.cache).
		WithTime(now)
	if tracer != nil {
		q = q.WithQueryTracer(tracer)
	}
	err = q.Iter(ctx, s.collect)
	result := s.result
	switch {
	case err != nil && isCancel(err):
		return nil, fmt.Errorf("%w after %v", ErrTimeout, e.opts.timeout)
	case err != nil:
		return nil, fmt.Errorf("evaluation error: %w", err)
	case result == nil:
		return nil, ErrUndefined
	}
	if key != nil {
		rev.cache.put(key, result)
	}
	return result, nil
}

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
		// The request goes through unchanged: a deny's response headers must not
		// become headers set on the forwarded request.
		d.Headers, d.RequestHeadersToRemove, d.ResponseHeadersToAdd = nil, nil, nil
		d.QueryParametersToSet, d.QueryParametersToRemove = nil, nil
	case d.Allowed:
		d.HTTPStatus, d.Body = 0, ""
	}
	return d
}
