package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const translateData = "../../rego/translate/testdata/"

// TestPolicyTranslate runs `rampart policy translate`: a bundle printed or written
// (then evaluated by `policy eval`), and refusals that name the field and write
// nothing.
func TestPolicyTranslate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	egress := "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: x}\nspec:\n  endpointSelector: {}\n  egress: [{toEntities: [world]}]\n"
	for _, c := range []struct {
		name, stdin string
		args        []string
		want        []string
		wantErr     string
	}{
		{"print", "", []string{"policy", "translate", "-f", translateData + "cilium/starwars.yaml"},
			[]string{"--- translated.rego", "package rampart.authz", `network_allowed contains "CiliumNetworkPolicy default/rule1 spec.ingress[0]"`, `"unselected": "deny"`}, ""},
		{"write", "", []string{"policy", "translate", "-f", translateData + "networkpolicy/context.yaml", "-f", translateData + "networkpolicy/07-ports.yaml", "-o", dir, "--unselected", "allow"},
			[]string{"wrote " + filepath.Join(dir, "translated.rego"), "wrote " + filepath.Join(dir, ".manifest")}, ""},
		{"eval written", "", []string{"policy", "eval", "--bundle", dir, "--input", input + "tiefighter-land.json"},
			[]string{`"allowed": true`, `"revision": "translated-`}, ""}, // no policy selects the deathstar: --unselected allow
		{"refused from stdin", egress, []string{"policy", "translate", "-f", "-", "-o", filepath.Join(dir, "refused")}, nil,
			"CiliumNetworkPolicy x (-): spec.egress: not supported"},
		{"bad default", "", []string{"policy", "translate", "-f", translateData + "cilium/starwars.yaml", "--unselected", "maybe"}, nil, "unselected must be deny or allow"},
		{"no file", "", []string{"policy", "translate"}, nil, `required flag(s) "filename"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, c.stdin, c.args...)
			if c.wantErr == "" && err != nil {
				t.Fatalf("error %v\n%s", err, out)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error %v, want one containing %q\n%s", err, c.wantErr, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "refused")); !os.IsNotExist(err) {
		t.Errorf("a refused translation wrote %s (stat: %v)", filepath.Join(dir, "refused"), err)
	}
}
