package test_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/rampart-mesh/rampart"

// allowed lists, per top-level folder, the top-level folders of ours it may import
// (its own subtree is always allowed). This is the dependency direction of DESIGN.md.
var allowed = map[string][]string{
	"cmd":      {"sidecar", "identity", "rego", "redirect", "injector", "policies"},
	"sidecar":  {"identity", "rego"},
	"identity": {},
	"rego":     {},
	"redirect": {},
	"injector": {},
	"policies": {},
	"test":     {"cmd", "sidecar", "identity", "rego", "redirect", "injector", "policies"},
}

// TestImportDirection fails when a package (or its tests) imports against the
// dependency direction: leaves import nothing of ours, sidecar only identity and rego,
// and nothing but test imports cmd or test.
func TestImportDirection(t *testing.T) {
	for pkg, imports := range listImports(t) {
		from := folder(pkg)
		if _, ok := allowed[from]; !ok {
			t.Errorf("package %s is in folder %q, which DESIGN.md does not name", pkg, from)
			continue
		}
		for _, imp := range imports {
			if to := folder(imp); to != "" && to != from && !permitted(from, to) {
				t.Errorf("%s imports %s: %s may not import %s (DESIGN.md dependency direction)", pkg, imp, from, to)
			}
		}
	}
}

// TestPermittedRejectsWrongDirection keeps the checker honest: the rule table must
// refuse the edges DESIGN.md forbids.
func TestPermittedRejectsWrongDirection(t *testing.T) {
	for _, edge := range [][2]string{
		{"rego", "sidecar"}, {"identity", "rego"}, {"redirect", "sidecar"},
		{"injector", "sidecar"}, {"sidecar", "redirect"}, {"sidecar", "cmd"}, {"rego", "test"},
	} {
		if permitted(edge[0], edge[1]) {
			t.Errorf("%s → %s is allowed, DESIGN.md forbids it", edge[0], edge[1])
		}
	}
	if !permitted("cmd", "sidecar") || !permitted("sidecar", "rego") {
		t.Error("cmd → sidecar and sidecar → rego must be allowed")
	}
}

func listImports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`,
		module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if fields := strings.Fields(line); len(fields) > 0 {
			pkgs[fields[0]] = fields[1:]
		}
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func permitted(from, to string) bool {
	for _, ok := range allowed[from] {
		if ok == to {
			return true
		}
	}
	return false
}

// folder returns the top-level folder of one of our import paths, or "" for others.
func folder(importPath string) string {
	rest, ok := strings.CutPrefix(importPath, module+"/")
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	return top
}
