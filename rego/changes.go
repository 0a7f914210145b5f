package rego

import (
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// readHeaderFields reads "headers" or "response_headers_to_add" as OPA-Envoy accepts
// them: an object, or an array of objects, whose values are a string or an array of
// strings (one field per element). Names are lower-cased; a name that is not an HTTP
// token or a value holding CR, LF or NUL is an error, since the proxy writes them
// onto the wire and must not be made to split a header.
func readHeaderFields(obj ast.Object, key string) ([]Field, error) {
	t := obj.Get(ast.InternedTerm(key))
	if t == nil {
		return nil, nil
	}
	var out []Field
	switch v := t.Value.(type) {
	case ast.Object:
		return appendHeaderObject(out, key, v)
	case *ast.Array:
		var err error
		for i := 0; i < v.Len() && err == nil; i++ {
			o, ok := v.Elem(i).Value.(ast.Object)
			if !ok {
				return nil, fmt.Errorf("%w: %s[%d] is %s, want object", ErrBadDecision, key, i, ast.ValueName(v.Elem(i).Value))
			}
			out, err = appendHeaderObject(out, key, o)
		}
		return out, err
	}
	return nil, fmt.Errorf("%w: %s is %s, want object or array of objects", ErrBadDecision, key, ast.ValueName(t.Value))
}

func appendHeaderObject(out []Field, key string, o ast.Object) ([]Field, error) {
	err := o.Iter(func(k, v *ast.Term) error {
		name, ok := k.Value.(ast.String)
		if !ok || !validToken(string(name)) {
			return fmt.Errorf("%w: %s: %v is not a header name", ErrBadDecision, key, k)
		}
		vals, err := stringOrStrings(v.Value)
		if err != nil {
			return fmt.Errorf("%w: %s %q: %w", ErrBadDecision, key, string(name), err)
		}
		for _, s := range vals {
			if !validValue(s) {
				return fmt.Errorf("%w: %s %q: value holds CR, LF or NUL", ErrBadDecision, key, string(name))
			}
			out = append(out, Field{Name: strings.ToLower(string(name)), Value: s})
		}
		return nil
	})
	return out, err
}

// readQuerySet reads query_parameters_to_set: an object whose values are a string or
// an array of strings (one parameter per element).
func readQuerySet(obj ast.Object) ([]Field, error) {
	const key = "query_parameters_to_set"
	t := obj.Get(ast.InternedTerm(key))
	if t == nil {
		return nil, nil
	}
	o, ok := t.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("%w: %s is %s, want object", ErrBadDecision, key, ast.ValueName(t.Value))
	}
	var out []Field
	err := o.Iter(func(k, v *ast.Term) error {
		name, ok := k.Value.(ast.String)
		if !ok {
			return fmt.Errorf("%w: %s: key %v is not a string", ErrBadDecision, key, k)
		}
		vals, err := stringOrStrings(v.Value)
		if err != nil {
			return fmt.Errorf("%w: %s %q: %w", ErrBadDecision, key, string(name), err)
		}
		for _, s := range vals {
			out = append(out, Field{Name: string(name), Value: s})
		}
		return nil
	})
	return out, err
}

// readNames reads request_headers_to_remove or query_parameters_to_remove: an array
// of strings. Header names are lower-cased and must be tokens.
func readNames(obj ast.Object, key string, header bool) ([]string, error) {
	t := obj.Get(ast.InternedTerm(key))
	if t == nil {
		return nil, nil
	}
	a, ok := t.Value.(*ast.Array)
	if !ok {
		return nil, fmt.Errorf("%w: %s is %s, want array of strings", ErrBadDecision, key, ast.ValueName(t.Value))
	}
	out := make([]string, 0, a.Len())
	for i := range a.Len() {
		s, ok := a.Elem(i).Value.(ast.String)
		if !ok {
			return nil, fmt.Errorf("%w: %s[%d] is %s, want string", ErrBadDecision, key, i, ast.ValueName(a.Elem(i).Value))
		}
		name := string(s)
		if header {
			if !validToken(name) {
				return nil, fmt.Errorf("%w: %s[%d] %q is not a header name", ErrBadDecision, key, i, name)
			}
			name = strings.ToLower(name)
		}
		out = append(out, name)
	}
	return out, nil
}

func stringOrStrings(v ast.Value) ([]string, error) {
	switch x := v.(type) {
	case ast.String:
		return []string{string(x)}, nil
	case *ast.Array:
		out := make([]string, 0, x.Len())
		for i := range x.Len() {
			s, ok := x.Elem(i).Value.(ast.String)
			if !ok {
				return nil, fmt.Errorf("element %d is %s, want string", i, ast.ValueName(x.Elem(i).Value))
			}
			out = append(out, string(s))
		}
		return out, nil
	}
	return nil, fmt.Errorf("value is %s, want string or array of strings", ast.ValueName(v))
}

// validToken reports an RFC 9110 token: what a header field name may be.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

func validValue(s string) bool { return !strings.ContainsAny(s, "\r\n\x00") }
