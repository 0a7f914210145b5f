package translate

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// check compiles the generated module: a translation that does not compile is a
// bug of the translator, reported as such rather than written out.
func check(module string) error {
	c := ast.NewCompiler()
	mod, err := ast.ParseModuleWithOpts(RegoFile, module, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return fmt.Errorf("translate: generated Rego does not parse (translator bug): %w", err)
	}
	if c.Compile(map[string]*ast.Module{RegoFile: mod}); c.Failed() {
		return fmt.Errorf("translate: generated Rego does not compile (translator bug): %w", c.Errors)
	}
	return nil
}
