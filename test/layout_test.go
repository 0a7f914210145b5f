package test_test

import (
	"fmt"
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

// shipped lists the subtrees of test/ that cmd may import, because a command
// ships them: test/demo is the end-to-end harness's Star Wars scenario on network
// namespaces, which is `rampart demo`. Being product code, a shipped subtree may
// import only what cmd may (not cmd, and nothing else of test/).
var shipped = []string{"test/demo"}

// support is the test-support package (and its subpackages, e.g. kubeapi):
// helpers shared by the tests of every folder, leaves included. It imports
// nothing of ours outside its own subtree, so a leaf's tests stay leaf tests.
//
// Only tests may link it: _test files, and test helpers. A test helper is a
// non-test package that imports it (redirect/internal/podtest,
// sidecar/discovery/kube/kubetest: they take the test's testing.TB and live
// beside the code they test). Importing support is what makes a package a
// helper, and the checker then refuses every product import of the helper by a
// package that is not a helper itself, and any main package that imports
// support: so no shipped binary ever links it. (Making callers call support.Need
// before each podtest or kubetest call instead would spread the CI rule over
// every caller, where one could forget it.) A shipped part of test/ is never a
// helper.
const support = "test/support"

// TestImportDirection fails when a package (or its tests) imports against the
// dependency direction: leaves import nothing of ours, sidecar only identity and rego,
// and nothing but test imports cmd or test, except a shipped subtree of test
// (cmd may import it) and the test-support package (any _test file may).
func TestImportDirection(t *testing.T) {
	pkgs := listImports(t)
	g := graph{helpers: map[string]bool{}, mains: map[string]bool{}}
	for pkg, imps := range pkgs {
		g.mains[pkg] = imps.main
		for _, imp := range imps.product {
			if within(imp, support) {
				g.helpers[pkg] = true
			}
		}
	}
	for pkg, imps := range pkgs {
		from := folder(pkg)
		if _, ok := allowed[from]; !ok {
			t.Errorf("package %s is in folder %q, which DESIGN.md does not name", pkg, from)
			continue
		}
		for _, imp := range imps.product {
			if why := g.refuse(pkg, imp, false); why != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, why)
			}
		}
		for _, imp := range imps.tests {
			if why := g.refuse(pkg, imp, true); why != "" {
				t.Errorf("%s's tests import %s: %s", pkg, imp, why)
			}
		}
	}
}

// graph is what the rules need to know of the packages beyond their paths: which
// are test helpers (import test/support in non-test files) and which are mains.
type graph struct{ helpers, mains map[string]bool }

// refuse says why package pkg (its _test files when inTest) may not import imp,
// or "" when it may.
func (g graph) refuse(pkg, imp string, inTest bool) string {
	from, to := folder(pkg), folder(imp)
	switch {
	case to == "":
		return ""
	case within(imp, support):
		if !inTest && (g.mains[pkg] || isShipped(pkg)) {
			return "a main package or a shipped part of test/ may not link the test-support package " + support
		}
		return ""
	case within(pkg, support):
		if !within(imp, support) {
			return support + " imports nothing of ours (leaves' tests use it)"
		}
		return ""
	case !inTest && g.helpers[imp] && !g.helpers[pkg]:
		return imp + " is a test helper (it imports " + support + "): only tests and other test helpers may import it"
	case isShipped(pkg) && !isShipped(imp):
		if to == "test" || !permitted("cmd", to) {
			return "a shipped part of test/ is product code: it may import only what cmd may"
		}
		return ""
	case from == "cmd" && isShipped(imp):
		return ""
	case to != from && !permitted(from, to):
		return fmt.Sprintf("%s may not import %s (DESIGN.md dependency direction)", from, to)
	}
	return ""
}

func isShipped(importPath string) bool {
	for _, s := range shipped {
		if within(importPath, s) {
			return true
		}
	}
	return false
}

// within reports whether importPath is the package at dir (below the module) or
// below it.
func within(importPath, dir string) bool {
	rest, ok := strings.CutPrefix(importPath, module+"/"+dir)
	return ok && (rest == "" || strings.HasPrefix(rest, "/"))
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
	m := module + "/"
	g := graph{
		helpers: map[string]bool{m + "redirect/internal/podtest": true, m + "sidecar/discovery/kube/kubetest": true,
			m + "test/support/kubeapi": true},
		mains: map[string]bool{m + "cmd/rampart": true},
	}
	for _, tc := range []struct {
		pkg, imp string
		inTest   bool
		ok       bool
	}{
		{m + "cmd/rampart", m + "test/demo", false, true},
		{m + "cmd/rampart-demo", m + "test/demo/starwars", false, true},
		{m + "cmd/rampart", m + "test/cluster", false, false},
		{m + "cmd/rampart", m + "test/demox", false, false},
		{m + "rego", m + "test/demo", false, false},
		{m + "test/demo", m + "test/cluster", false, false},
		{m + "test/demo", m + "cmd/internal/version", false, false},
		{m + "test/demo", m + "redirect/netpod", false, true},
		{m + "redirect", m + "test/support", true, true},
		{m + "test/demo", m + "test/support", false, false},
		{m + "test/support", m + "redirect", false, false},
		{m + "test/support/kubeapi", m + "test/support", false, true},
		{m + "test/support/kubeapi", m + "sidecar/discovery/kube", false, false},
		{m + "redirect/internal/podtest", m + "test/support", false, true},
		{m + "redirect/internal/podtest", m + "test/support/kubeapi", false, true},
		{m + "redirect/agent", m + "redirect/internal/podtest", false, false},
		{m + "redirect/agent", m + "redirect/internal/podtest", true, true},
		{m + "test/demo", m + "sidecar/discovery/kube/kubetest", false, false},
		{m + "cmd/rampart", m + "test/support", false, false},
		{m + "cmd/rampart", m + "test/support", true, true},
		{m + "test/e2e", m + "test/demo", true, true},
	} {
		if got := g.refuse(tc.pkg, tc.imp, tc.inTest) == ""; got != tc.ok {
			t.Errorf("%s → %s (in test %v): allowed %v, want %v", tc.pkg, tc.imp, tc.inTest, got, tc.ok)
		}
	}
	// Product code importing test/support becomes a helper, so what ships and
	// imports it is refused: redirect's non-test files importing support would
	// fail at cmd → redirect.
	leaky := graph{helpers: map[string]bool{m + "redirect": true}, mains: g.mains}
	if leaky.refuse(m+"cmd/rampart", m+"redirect", false) == "" {
		t.Error("cmd → redirect allowed although redirect links test/support")
	}
}

// imports are one package's imports: of its product code, and of its _test
// files; main says whether it is a main package.
type imports struct {
	product, tests []string
	main           bool
}

func listImports(t *testing.T) map[string]imports {
	t.Helper()
	out, err := exec.Command("go", "list", "-f",
		`{{.Name}} {{.ImportPath}} {{join .Imports " "}} | {{join .TestImports " "}} {{join .XTestImports " "}}`,
		module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]imports{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		product, tests, _ := strings.Cut(line, "|")
		if fields := strings.Fields(product); len(fields) > 1 {
			pkgs[fields[1]] = imports{fields[2:], strings.Fields(tests), fields[0] == "main"}
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
