package translate

import (
	"encoding/json"
	"strings"
)

// cond is a condition on the request input, kept as a tree until it is written out
// as Rego: leaves are Rego expressions, and every "or" and "not" becomes a named
// helper rule (Rego bodies are conjunctions).
type cond struct {
	op   condOp
	expr string // Rego expression, for leaf
	note string // where it came from, written as a comment on its helper rule
	kids []cond
}

type condOp int

const (
	opTrue condOp = iota
	opFalse
	opLeaf
	opAnd
	opOr
	opNot
)

func always() cond          { return cond{op: opTrue} }
func never() cond           { return cond{op: opFalse} }
func leaf(expr string) cond { return cond{op: opLeaf, expr: expr} }
func not(c cond) cond       { return cond{op: opNot, kids: []cond{c}} }
func and(cs ...cond) cond   { return cond{op: opAnd, kids: cs} }
func or(cs ...cond) cond    { return cond{op: opOr, kids: cs} }
func (c cond) with(note string) cond {
	c.note = note
	return c
}

// simplify folds constants so the Rego stays short: an "and" with a false kid is
// false, an "or" with a true kid is true, single kids are lifted.
func (c cond) simplify() cond {
	switch c.op {
	case opAnd, opOr:
		stop, skip := opFalse, opTrue
		if c.op == opOr {
			stop, skip = opTrue, opFalse
		}
		var kids []cond
		for _, k := range c.kids {
			k = k.simplify()
			switch k.op {
			case stop:
				return cond{op: stop, note: c.note}
			case skip:
				continue
			}
			kids = append(kids, k)
		}
		switch len(kids) {
		case 0:
			return cond{op: skip, note: c.note}
		case 1:
			if kids[0].note == "" {
				kids[0].note = c.note
			}
			return kids[0]
		}
		return cond{op: c.op, kids: kids, note: c.note}
	case opNot:
		k := c.kids[0].simplify()
		switch k.op {
		case opTrue:
			return never()
		case opFalse:
			return always()
		}
		return cond{op: opNot, kids: []cond{k}, note: c.note}
	}
	return c
}

// quote writes s as a Rego string literal (JSON strings are Rego strings).
func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// quoteSet writes a Rego set of string literals.
func quoteSet(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = quote(v)
	}
	return "{" + strings.Join(q, ", ") + "}"
}

// comment makes s safe inside a one-line Rego comment.
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}
