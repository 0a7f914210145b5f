package rego

import (
	"context"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Explanation is a decision together with why: which rule bodies matched, which
// failed and at which expression, and OPA's full evaluation trace.
type Explanation struct {
	Decision Decision
	Rules    []RuleOutcome
	Trace    []*topdown.Event // print with topdown.PrettyTraceWithLocation
}

// RuleOutcome is one evaluation of one rule body.
type RuleOutcome struct {
	Rule     string // rule head, e.g. "allow"
	Location string // file:line of the rule
	Matched  bool
	// FailedAt and FailedExpr name the first expression that was false (or undefined)
	// when the body did not match.
	FailedAt   string
	FailedExpr string
}

// Explain decides in as Decide does, tracing the evaluation. It is slow (tracing
// records every step) and meant for people: `rampart policy explain`.
func (e *Engine) Explain(ctx context.Context, in *Input) Explanation {
	rev := e.cur.Load()
	if rev == nil {
		return Explanation{Decision: e.interpret(nil, nil, ErrNoBundle)}
	}
	tracer := topdown.NewBufferTracer()
	result, err := e.eval(ctx, rev, in, time.Now(), tracer)
	return Explanation{
		Decision: e.interpret(rev, result, err),
		Rules:    ruleOutcomes(*tracer),
		Trace:    *tracer,
	}
}

// ruleOutcomes pairs each rule-body entry in the trace with its exit (matched) or its
// first failing expression. Events of one body share a QueryID.
func ruleOutcomes(trace []*topdown.Event) []RuleOutcome {
	var out []RuleOutcome
	open := map[uint64]int{} // QueryID → index in out
	for _, ev := range trace {
		switch node := ev.Node.(type) {
		case *ast.Rule:
			if ev.Op == topdown.EnterOp {
				open[ev.QueryID] = len(out)
				name := node.Head.Ref().String()
				if node.Default {
					name = "default " + name
				}
				out = append(out, RuleOutcome{Rule: name, Location: where(node.Location)})
			}
			if i, ok := open[ev.QueryID]; ok && ev.Op == topdown.ExitOp {
				out[i].Matched, out[i].FailedAt, out[i].FailedExpr = true, "", ""
			}
		case *ast.Expr:
			if i, ok := open[ev.QueryID]; ok && ev.Op == topdown.FailOp && out[i].FailedAt == "" {
				out[i].FailedAt, out[i].FailedExpr = where(node.Location), node.String()
			}
		}
	}
	return out
}

func where(l *ast.Location) string {
	if l == nil {
		return "?"
	}
	return fmt.Sprintf("%s:%d", l.File, l.Row)
}
