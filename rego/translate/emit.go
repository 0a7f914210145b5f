package translate

import (
	"fmt"
	"strings"
)

// writer builds the Rego module. Helper rules for "or" and "not" are named after
// the rule that uses them (r7_1, r7_2, ...) and written right after it.
type writer struct {
	b       strings.Builder
	prefix  string
	n       int
	helpers []string
}

func (w *writer) line(format string, args ...any) {
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

// rule writes `head if { c }` preceded by its comment, then its helpers.
func (w *writer) rule(id int, note, head string, c cond) {
	w.prefix, w.n, w.helpers = fmt.Sprintf("r%d", id), 0, nil
	if note != "" {
		w.line("# %s", comment(note))
	}
	w.write(head, c.simplify())
	for _, h := range w.helpers {
		w.b.WriteString(h)
	}
	w.b.WriteByte('\n')
}

// write writes one rule (several bodies when c is an "or").
func (w *writer) write(head string, c cond) {
	if c.op == opOr {
		for i, k := range c.kids {
			if i > 0 {
				w.b.WriteByte('\n')
			}
			w.write(head, k)
		}
		return
	}
	w.line("%s if {", head)
	lines := w.body(c)
	if len(lines) == 0 {
		lines = []string{"true"}
	}
	for _, l := range lines {
		w.line("\t%s", l)
	}
	w.line("}")
}

// body returns the expressions of one conjunction, adding helper rules as needed.
func (w *writer) body(c cond) []string {
	var out []string
	if c.note != "" && c.op == opLeaf {
		return []string{c.expr + " # " + comment(c.note)}
	}
	switch c.op {
	case opTrue:
	case opFalse:
		out = append(out, "false")
	case opLeaf:
		out = append(out, c.expr)
	case opAnd:
		if c.note != "" {
			out = append(out, "# "+comment(c.note))
		}
		for _, k := range c.kids {
			out = append(out, w.body(k)...)
		}
	case opOr:
		out = append(out, w.helper(c))
	case opNot:
		// Always through a helper rule: OPA may hoist a reference out of an inline
		// "not x in s", and an undefined x must make the negation true.
		out = append(out, "not "+w.helper(c.kids[0]))
	}
	return out
}

// helper writes c as a rule of its own and returns its name.
func (w *writer) helper(c cond) string {
	w.n++
	name := fmt.Sprintf("%s_%d", w.prefix, w.n)
	sub := &writer{prefix: name}
	if c.note != "" {
		sub.line("# %s", comment(c.note))
	}
	sub.write(name, c)
	w.helpers = append(w.helpers, "\n"+sub.b.String())
	w.helpers = append(w.helpers, sub.helpers...)
	return name
}
