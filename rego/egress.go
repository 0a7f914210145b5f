package rego

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Egress decision paths, in the same bundles as the inbound decision.
const (
	// EgressDecision decides one outbound connection (or plaintext HTTP request)
	// to a destination outside the mesh.
	EgressDecision = "data.rampart.egress.allow"
	// EgressEnforced, when a policy defines it, says per source whether egress is
	// decided at all; when undefined, egress is decided wherever an EgressDecision
	// rule exists.
	EgressEnforced = "data.rampart.egress.enforced"
)

// EgressInput is what the source pod's proxy knows about one connection leaving
// the mesh. As input:
//
//	input.source.{principal,namespace,labels}
//	input.destination.{host,sni,ip,port,protocol}
//	input.request.{method,path,host}          (plaintext HTTP only)
//
// Empty fields are absent, never "" (as in Input).
type EgressInput struct {
	Source      EgressSource
	Destination EgressDestination
	// Request is the plaintext HTTP request being decided; nil for TLS and L4.
	Request *EgressRequest
}

// EgressSource is the pod whose proxy decides: its own identity and labels.
type EgressSource struct {
	Principal string            // this pod's SPIFFE ID
	Namespace string            // this pod's namespace
	Labels    map[string]string // this pod's labels
}

// EgressDestination is where the app connected.
type EgressDestination struct {
	// Host is the name the connection is decided by: the HTTP Host or the TLS SNI,
	// lower-cased, no trailing dot, no port; "" for L4.
	Host string
	// SNI is the ClientHello's server name (normalized as Host); "" when none.
	SNI string
	// IP is the original destination address the app connected to.
	IP string
	// Port is the original destination port.
	Port uint16
	// Protocol is "http", "tls" or "tcp": what the proxy read first.
	Protocol string
}

// EgressRequest is one normalized plaintext HTTP request.
type EgressRequest struct {
	Method string
	Path   string
	Host   string
}

// EgressEnforced reports whether egress is decided for src: some loaded module
// defines a rule at EgressDecision and, when a rule defines EgressEnforced, it is
// true for src. Otherwise outbound traffic keeps passing through undecided (today's
// behaviour). An evaluation error of EgressEnforced enforces (fail closed).
func (e *Engine) EgressEnforced(ctx context.Context, src EgressSource) bool {
	rev := e.cur.Load()
	if rev == nil || !rev.egress.rules {
		return false
	}
	if rev.egress.enforced == nil {
		return true
	}
	in := EgressInput{Source: src}
	v, err := e.evalQuery(ctx, rev, rev.egress.enforced, in.value(), nil)
	switch {
	case errors.Is(err, ErrUndefined):
		return false // the policy scopes egress, and not to src
	case err != nil:
		return true // fail closed
	}
	b, ok := v.(ast.Boolean)
	return !ok || bool(b)
}

// DecideEgress evaluates EgressDecision for in. Like Decide it never fails open:
// without a bundle owning the path, with an undefined or malformed decision, an
// error or a timeout, the connection is denied. Callers ask EgressEnforced first.
func (e *Engine) DecideEgress(ctx context.Context, in *EgressInput) Decision {
	start := time.Now()
	rev := e.cur.Load()
	input := in.value()
	var (
		result ast.Value
		err    = ErrNoBundle
	)
	if rev != nil {
		err = fmt.Errorf("%w: %s", ErrDecisionOutsideRoots, EgressDecision)
		if rev.egress.owner != "" {
			result, err = e.evalQuery(ctx, rev, rev.egress.allow, input, nil)
		}
	}
	d := e.interpret(rev, result, err)
	if errors.Is(err, ErrUndefined) {
		d.Reason = fmt.Sprintf("%v: %s", err, EgressDecision)
	}
	d.ID = e.nextID()
	if e.log != nil {
		e.log.emit(e.opts.now(), egressLogPath, input, nil, result, err, d, rev, time.Since(start))
	}
	return d
}

// egressLogPath is EgressDecision as OPA's decision log writes paths.
const egressLogPath = "rampart/egress/allow"

// egressQueries are the egress queries compiled for one revision.
type egressQueries struct {
	allow    ast.Body // nil when the revision cannot compile it
	enforced ast.Body // nil when no rule defines EgressEnforced
	owner    string   // bundle whose roots hold EgressDecision
	rules    bool     // some module defines a rule at EgressDecision
}

var (
	egressAllowRef    = ast.MustParseRef(EgressDecision)
	egressEnforcedRef = ast.MustParseRef(EgressEnforced)
)

func (r *revision) prepareEgress(owner string) error {
	r.egress.owner = owner
	r.egress.rules = len(r.compiler.GetRulesExact(egressAllowRef)) > 0
	if !r.egress.rules {
		return nil
	}
	q, err := r.qc.Compile(ast.NewBody(ast.Equality.Expr(ast.NewTerm(decisionVar), ast.NewTerm(egressAllowRef))))
	if err != nil {
		return fmt.Errorf("compile %s: %w", EgressDecision, err)
	}
	r.egress.allow = q
	if len(r.compiler.GetRulesExact(egressEnforcedRef)) > 0 {
		q, err := r.qc.Compile(ast.NewBody(ast.Equality.Expr(ast.NewTerm(decisionVar), ast.NewTerm(egressEnforcedRef))))
		if err != nil {
			return fmt.Errorf("compile %s: %w", EgressEnforced, err)
		}
		r.egress.enforced = q
	}
	return nil
}

// evalQuery runs a compiled query against rev with input, bounded by the engine
// timeout; an undefined result is ErrUndefined.
func (e *Engine) evalQuery(ctx context.Context, rev *revision, query ast.Body, input ast.Value, tracer topdown.QueryTracer) (ast.Value, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	now := time.Now()
	s := newScratch(now.Add(e.opts.timeout))
	q := topdown.NewQuery(query).
		WithQueryCompiler(rev.qc).
		WithCompiler(rev.compiler).
		WithStore(rev.store).
		WithTransaction(rev.txn).
		WithInput(ast.NewTerm(input)).
		WithMetrics(metrics.NoOp()).
		WithCancel(&s.dl).
		WithEarlyExit(true).
		WithVirtualCache(&s.cache).
		WithTime(now)
	if tracer != nil {
		q = q.WithQueryTracer(tracer)
	}
	err := q.Iter(ctx, s.collect)
	switch {
	case err != nil && isCancel(err):
		return nil, fmt.Errorf("%w after %v", ErrTimeout, e.opts.timeout)
	case err != nil:
		return nil, fmt.Errorf("evaluation error: %w", err)
	case s.result == nil:
		return nil, ErrUndefined
	}
	return s.result, nil
}

// value builds the input object; empty fields are left out.
func (in *EgressInput) value() ast.Value {
	src := egressObject(
		"principal", egressStr(in.Source.Principal),
		"namespace", egressStr(in.Source.Namespace),
		"labels", egressLabels(in.Source.Labels))
	d := in.Destination
	var port ast.Value
	if d.Port != 0 {
		port = ast.Number(strconv.Itoa(int(d.Port)))
	}
	dst := egressObject("host", egressStr(d.Host), "sni", egressStr(d.SNI), "ip", egressStr(d.IP), "port", port,
		"protocol", egressStr(d.Protocol))
	var req ast.Value
	if r := in.Request; r != nil {
		req = egressObject("method", egressStr(r.Method), "path", egressStr(r.Path), "host", egressStr(r.Host))
	}
	if v := egressObject("source", src, "destination", dst, "request", req); v != nil {
		return v
	}
	return ast.NewObject()
}

// egressObject builds an ast.Object from key, value pairs, skipping nil values.
func egressObject(kv ...any) ast.Value {
	var terms [][2]*ast.Term
	for i := 0; i < len(kv); i += 2 {
		if v, _ := kv[i+1].(ast.Value); v != nil {
			terms = append(terms, [2]*ast.Term{ast.StringTerm(kv[i].(string)), ast.NewTerm(v)})
		}
	}
	if len(terms) == 0 {
		return nil
	}
	return ast.NewObject(terms...)
}

func egressStr(s string) ast.Value {
	if s == "" {
		return nil
	}
	return ast.String(s)
}

func egressLabels(m map[string]string) ast.Value {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]any, 0, 2*len(m))
	for _, k := range keys {
		kv = append(kv, k, ast.Value(ast.String(m[k])))
	}
	return egressObject(kv...)
}

// RefuseEgress records a deny the proxy made before any policy could decide: a
// destination that does not match the name it claims, a malformed ClientHello. It
// is counted, and logged like DecideEgress (path rampart/egress/allow, with the
// reason as the error), so every egress outcome is in the decision log.
func (e *Engine) RefuseEgress(in *EgressInput, reason string) Decision {
	rev := e.cur.Load()
	d := Decision{ID: e.nextID(), HTTPStatus: DenyStatus, Body: DenyBody, Reason: reason}
	if rev != nil {
		d.Revision = rev.revision
	}
	if e.log != nil {
		e.log.emit(e.opts.now(), egressLogPath, in.value(), nil, nil, errors.New(reason), d, rev, 0)
	}
	return d
}
