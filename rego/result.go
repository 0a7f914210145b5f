package rego

import (
	"fmt"
	"net/http"

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
	if err := readString(obj, "body", &d.Body); err != nil {
		return err
	}
	had := d.Reason
	if err := readString(obj, "reason", &d.Reason); err != nil {
		return err
	}
	if d.Reason == had && !d.Allowed {
		d.Reason = "denied by policy"
	}
	return readChanges(obj, d)
}

// readChanges reads the OPA-Envoy fields that change the request or response. Every
// one is type-checked whatever the outcome, as OPA-Envoy does: a wrong type is an
// error (deny), never an ignored field.
func readChanges(obj ast.Object, d *Decision) error {
	var err error
	if d.Headers, err = readHeaderFields(obj, "headers"); err != nil {
		return err
	}
	if d.ResponseHeadersToAdd, err = readHeaderFields(obj, "response_headers_to_add"); err != nil {
		return err
	}
	if d.RequestHeadersToRemove, err = readNames(obj, "request_headers_to_remove", true); err != nil {
		return err
	}
	if d.QueryParametersToRemove, err = readNames(obj, "query_parameters_to_remove", false); err != nil {
		return err
	}
	if d.QueryParametersToSet, err = readQuerySet(obj); err != nil {
		return err
	}
	return readMetadata(obj, d)
}

func readStatus(obj ast.Object, d *Decision) error {
	t := obj.Get(ast.InternedTerm("http_status"))
	if t == nil {
		return nil
	}
	n, ok := t.Value.(ast.Number)
	code, isInt := n.Int()
	if !ok || !isInt || http.StatusText(code) == "" {
		return fmt.Errorf("%w: http_status %v is not an HTTP status", ErrBadDecision, t)
	}
	d.HTTPStatus = code
	return nil
}

// readString sets *dst from a string member; a member of another type is an error.
func readString(obj ast.Object, key string, dst *string) error {
	t := obj.Get(ast.InternedTerm(key))
	if t == nil {
		return nil
	}
	s, ok := t.Value.(ast.String)
	if !ok {
		return fmt.Errorf("%w: %s is %s, want string", ErrBadDecision, key, ast.ValueName(t.Value))
	}
	*dst = string(s)
	return nil
}

func readMetadata(obj ast.Object, d *Decision) error {
	t := obj.Get(ast.InternedTerm("dynamic_metadata"))
	if t == nil {
		return nil
	}
	if _, ok := t.Value.(ast.Object); !ok {
		return fmt.Errorf("%w: dynamic_metadata is %s, want object", ErrBadDecision, ast.ValueName(t.Value))
	}
	j, err := ast.JSON(t.Value)
	if err != nil {
		return fmt.Errorf("%w: dynamic_metadata: %w", ErrBadDecision, err)
	}
	d.DynamicMetadata, _ = j.(map[string]any)
	return nil
}
