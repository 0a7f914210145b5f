package translate

import (
	"fmt"
	"strings"
)

// Refusal is one field the translator cannot express.
type Refusal struct {
	Object string // "CiliumNetworkPolicy default/rule1 (policy.yaml)"
	Field  string // "spec.egress"
	Reason string // "not supported: ..."
}

func (r Refusal) String() string { return fmt.Sprintf("%s: %s: %s", r.Object, r.Field, r.Reason) }

// RefusalError lists every refused field of a translation; no bundle is written.
type RefusalError struct {
	Refusals []Refusal
}

func (e *RefusalError) Error() string {
	lines := make([]string, len(e.Refusals))
	for i, r := range e.Refusals {
		lines[i] = r.String()
	}
	return "translate: refused:\n  " + strings.Join(lines, "\n  ")
}

// refusals collects the refusals of one object.
type refusals struct {
	object string
	list   *[]Refusal
}

func (r *refusals) add(field, reason string) {
	*r.list = append(*r.list, Refusal{Object: r.object, Field: field, Reason: reason})
}

// unsupported refuses field when present is true.
func (r *refusals) unsupported(present bool, field, why string) {
	if present {
		r.add(field, "not supported: "+why)
	}
}
