package rego

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// fromResult reads a decision value into d: a boolean, or an object
// {allowed, http_status, body, headers, reason} (the OPA-Envoy shape, with
// http_status/body/headers only meaningful on a deny).
func fromResult(v ast.Value, d *Decision) error {
	switch x := v.(type) {
	case ast.Boolean:
		d.Allowed = bool(x)
		if !d.Allowed {
			d.Reason = "denied by policy"
		}
		return nil
	case ast.Object:
		return fromObject(x, d)
	case nil:
		return ErrUndefined
	}
	return fmt.Errorf("%w: got %s, want boolean or object", ErrBadDecision, ast.ValueName(v))
}

func fromObject(obj ast.Object, d *Decision) error {
	allowed := obj.Get(ast.InternedTerm("allowed"))
	if allowed == nil {
		return fmt.Errorf("%w: object without \"allowed\"", ErrBadDecision)
	}
	b, ok := allowed.Value.(ast.Boolean)
	if !ok {
		return fmt.Errorf("%w: \"allowed\" is %s, want boolean", ErrBadDecision, ast.ValueName(allowed.Value))
	}
	d.Allowed = bool(b)
	if err := readStatus(obj, d); err != nil {
		return err
	}
	if s, ok := stringField(obj, "body"); ok {
		d.Body = s
	}
	if s, ok := stringField(obj, "reason"); ok {
		d.Reason = s
	} else if !d.Allowed {
		d.Reason = "denied by policy"
	}
	return readHeaders(obj, d)
}

func readStatus(obj ast.Object, d *Decision) error {
	t := obj.Get(ast.InternedTerm("http_status"))
	if t == nil {
		return nil
	}
	n, ok := t.Value.(ast.Number)
	code, isInt := n.Int()
	if !ok || !isInt || code < 100 || code > 599 {
		return fmt.Errorf("%w: http_status %v is not an HTTP status", ErrBadDecision, t)
	}
	d.HTTPStatus = code
	return nil
}

func readHeaders(obj ast.Object, d *Decision) error {
	t := obj.Get(ast.InternedTerm("headers"))
	if t == nil {
		return nil
	}
	h, ok := t.Value.(ast.Object)
	if !ok {
		return fmt.Errorf("%w: headers is %s, want object", ErrBadDecision, ast.ValueName(t.Value))
	}
	// The closure fills a local map, not d's: capturing d would move every
	// decision's Decision to the heap, headers or not.
	headers := make([]Field, 0, h.Len())
	err := h.Iter(func(k, v *ast.Term) error {
		ks, ok1 := k.Value.(ast.String)
		vs, ok2 := v.Value.(ast.String)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: header %v: %v is not a string pair", ErrBadDecision, k, v)
		}
		headers = append(headers, Field{Name: string(ks), Value: string(vs)})
		return nil
	})
	d.Headers = headers
	return err
}

func stringField(obj ast.Object, key string) (string, bool) {
	t := obj.Get(ast.InternedTerm(key))
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}
