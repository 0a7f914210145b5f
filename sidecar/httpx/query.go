package httpx

import (
	"fmt"
	"net/url"
	"strings"
)

// checkQuery refuses a query that parsers could split or decode differently, so the
// policy (whose parsed_query comes from Go's url.ParseQuery, as OPA-Envoy's does) and
// the app never see different parameters: ";" (a separator to some frameworks, not
// to others), invalid or truncated percent-escapes, an escaped NUL, and bytes that
// are not printable ASCII.
func checkQuery(q string) error {
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '%':
			v, ok := unhex2(q, i)
			if !ok {
				return badRequest("invalid percent-escape in query")
			}
			if v == 0 {
				return badRequest("NUL in query")
			}
			i += 2
		case c == ';':
			return badRequest("';' in query: a separator to some parsers, not to others")
		case c <= ' ' || c >= 0x7f:
			return badRequest("byte 0x%02x not allowed in query", c)
		}
	}
	return nil
}

// EditQuery applies a policy's query_parameters_to_remove and then
// query_parameters_to_set to a query checkQuery accepted. Parameters are compared by
// their decoded names. Every parameter the policy did not touch keeps its raw text and
// its place; a set parameter replaces all parameters of its name at the place of the
// first one (or is appended), encoded with url.QueryEscape. Several set fields with
// one name all stay, in order (OPA-Envoy's array values). The result is "" when no
// parameter is left. A set field with an empty name or a NUL is refused: the edited
// query must pass checkQuery like the one the client sent.
func EditQuery(query string, set []Field, remove []string) (string, error) {
	if len(set) == 0 && len(remove) == 0 {
		return query, nil
	}
	for _, f := range set {
		if f.Name == "" || strings.IndexByte(f.Name, 0) >= 0 || strings.IndexByte(f.Value, 0) >= 0 {
			return "", fmt.Errorf("query parameter to set %q: empty name or NUL", f.Name)
		}
	}
	drop := make(map[string]bool, len(remove)+len(set))
	for _, n := range remove {
		drop[n] = true
	}
	pending := map[string][]string{}
	var order []string
	for _, f := range set {
		if _, ok := pending[f.Name]; !ok {
			order = append(order, f.Name)
		}
		pending[f.Name] = append(pending[f.Name], f.Value)
	}
	var out []string
	for raw := range strings.SplitSeq(query, "&") {
		if raw == "" {
			continue
		}
		name := queryName(raw)
		if vals, ok := pending[name]; ok {
			out = appendParams(out, name, vals)
			delete(pending, name)
			drop[name] = true
			continue
		}
		if !drop[name] {
			out = append(out, raw)
		}
	}
	for _, name := range order {
		if vals, ok := pending[name]; ok {
			out = appendParams(out, name, vals)
		}
	}
	return strings.Join(out, "&"), nil
}

// queryName is the decoded name of one "name=value" pair (checkQuery has refused
// what would not decode).
func queryName(pair string) string {
	raw, _, _ := strings.Cut(pair, "=")
	name, err := url.QueryUnescape(raw)
	if err != nil {
		return raw
	}
	return name
}

func appendParams(out []string, name string, vals []string) []string {
	for _, v := range vals {
		out = append(out, url.QueryEscape(name)+"="+url.QueryEscape(v))
	}
	return out
}
