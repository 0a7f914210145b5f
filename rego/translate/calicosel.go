package translate

import (
	"fmt"
	"strings"
	"unicode"
)

// calicoSel is a parsed Calico selector expression: a tree of &&, ||, ! over
// label terms (==, !=, in, not in, has, contains, starts with, ends with, all()).
type calicoSel struct {
	op   string // "and", "or", "not", "all", "term"
	req  requirement
	kids []*calicoSel
}

// maxSelector bounds a selector's length (and so its nesting).
const maxSelector = 4096

// parseCalicoSelector parses Calico's selector syntax; "" selects everything.
func parseCalicoSelector(s string) (*calicoSel, error) {
	if len(s) > maxSelector {
		return nil, fmt.Errorf("selector longer than %d bytes", maxSelector)
	}
	p := &selParser{s: s}
	if strings.TrimSpace(s) == "" {
		return &calicoSel{op: "all"}, nil
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.skip(); p.i < len(p.s) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.i:], p.i)
	}
	return e, nil
}

type selParser struct {
	s     string
	i     int
	depth int
}

func (p *selParser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

// eat consumes tok when it comes next.
func (p *selParser) eat(tok string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

// word consumes the keyword w when it comes next as a whole word.
func (p *selParser) word(w string) bool {
	p.skip()
	rest := p.s[p.i:]
	if !strings.HasPrefix(rest, w) || (len(rest) > len(w) && isKeyChar(rune(rest[len(w)]))) {
		return false
	}
	p.i += len(w)
	return true
}

func (p *selParser) or() (*calicoSel, error) {
	return p.chain("||", "or", p.and)
}

func (p *selParser) and() (*calicoSel, error) {
	return p.chain("&&", "and", p.unary)
}

func (p *selParser) chain(tok, op string, next func() (*calicoSel, error)) (*calicoSel, error) {
	first, err := next()
	if err != nil {
		return nil, err
	}
	kids := []*calicoSel{first}
	for p.eat(tok) {
		k, err := next()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &calicoSel{op: op, kids: kids}, nil
}

func (p *selParser) unary() (*calicoSel, error) {
	if p.depth++; p.depth > 64 {
		return nil, fmt.Errorf("selector nested too deeply")
	}
	defer func() { p.depth-- }()
	switch {
	case p.eat("!"):
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &calicoSel{op: "not", kids: []*calicoSel{k}}, nil
	case p.eat("("):
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, fmt.Errorf("missing ) at offset %d", p.i)
		}
		return e, nil
	case p.word("all"):
		if !p.eat("(") || !p.eat(")") {
			return nil, fmt.Errorf("all needs ()")
		}
		return &calicoSel{op: "all"}, nil
	case p.word("has"):
		if !p.eat("(") {
			return nil, fmt.Errorf("has needs (key)")
		}
		k := p.key()
		if k == "" || !p.eat(")") {
			return nil, fmt.Errorf("has needs (key) at offset %d", p.i)
		}
		return term(k, "exists"), nil
	}
	return p.comparison()
}

func term(key, op string, values ...string) *calicoSel {
	return &calicoSel{op: "term", req: requirement{key: key, op: op, values: values}}
}

func (p *selParser) comparison() (*calicoSel, error) {
	k := p.key()
	if k == "" {
		return nil, fmt.Errorf("expected a label key at offset %d", p.i)
	}
	for _, c := range []struct{ tok, op string }{
		{"==", "="}, {"!=", "!="}, {"contains", "contains"}, {"starts with", "startswith"}, {"ends with", "endswith"},
	} {
		if p.eat(c.tok) {
			v, err := p.str()
			if err != nil {
				return nil, err
			}
			return term(k, c.op, v), nil
		}
	}
	op := "in"
	if p.word("not") {
		op = "notin"
	}
	if !p.word("in") {
		return nil, fmt.Errorf("expected an operator after %q at offset %d", k, p.i)
	}
	vs, err := p.set()
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 { // "in {}" matches nothing, "not in {}" everything with... any labels
		if op == "in" {
			return &calicoSel{op: "not", kids: []*calicoSel{{op: "all"}}}, nil
		}
		return &calicoSel{op: "all"}, nil
	}
	return term(k, op, vs...), nil
}

func isKeyChar(r rune) bool {
	return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-/", r))
}

func (p *selParser) key() string {
	p.skip()
	start := p.i
	for p.i < len(p.s) && isKeyChar(rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *selParser) str() (string, error) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", fmt.Errorf("expected a quoted value at offset %d", p.i)
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", fmt.Errorf("unterminated string at offset %d", p.i)
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, nil
}

func (p *selParser) set() ([]string, error) {
	if !p.eat("{") {
		return nil, fmt.Errorf("expected { at offset %d", p.i)
	}
	var vs []string
	if p.eat("}") {
		return vs, nil
	}
	for {
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
		if p.eat("}") {
			return vs, nil
		}
		if !p.eat(",") {
			return nil, fmt.Errorf("expected , or } at offset %d", p.i)
		}
	}
}

// cond writes the selector on the labels expression labels.
func (s *calicoSel) cond(labels string) cond {
	switch s.op {
	case "all":
		return always()
	case "not":
		return not(s.kids[0].cond(labels))
	case "term":
		return s.req.cond(labels)
	}
	kids := make([]cond, len(s.kids))
	for i, k := range s.kids {
		kids[i] = k.cond(labels)
	}
	if s.op == "or" {
		return or(kids...)
	}
	return and(kids...)
}

// eval evaluates the selector on concrete labels, as the Rego does.
func (s *calicoSel) eval(labels map[string]string) bool {
	switch s.op {
	case "all":
		return true
	case "not":
		return !s.kids[0].eval(labels)
	case "term":
		v, ok := labels[s.req.key]
		switch s.req.op {
		case "contains":
			return ok && strings.Contains(v, s.req.values[0])
		case "startswith":
			return ok && strings.HasPrefix(v, s.req.values[0])
		case "endswith":
			return ok && strings.HasSuffix(v, s.req.values[0])
		}
		return matches([]requirement{s.req}, labels)
	}
	for _, k := range s.kids {
		if k.eval(labels) != (s.op == "and") {
			return s.op != "and"
		}
	}
	return s.op == "and"
}
