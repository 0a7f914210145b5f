package translate_test

import (
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego/translate"
)

var update = flag.Bool("update", false, "rewrite the .rego.golden files")

// TestDecisionTables translates every policy of testdata/{networkpolicy,cilium,
// calico,istio}, loads the bundle into the real engine and checks each row of its
// NAME.cases.yaml; the generated Rego is compared with NAME.rego.golden.
func TestDecisionTables(t *testing.T) {
	for _, dir := range []string{"networkpolicy", "cilium", "calico", "istio"} {
		for _, file := range policyFiles(t, dir) {
			t.Run(strings.TrimSuffix(file[len("testdata/"):], ".yaml"), func(t *testing.T) {
				tb := readTable(t, strings.TrimSuffix(file, ".yaml")+".cases.yaml")
				if len(tb.Cases) < 3 {
					t.Fatalf("only %d cases", len(tb.Cases))
				}
				b, err := translate.Translate(sources(t, file), translate.Options{Unselected: tb.Unselected})
				if err != nil {
					t.Fatal(err)
				}
				golden(t, strings.TrimSuffix(file, ".yaml")+".rego.golden", b.Rego)
				e := engine(t, b)
				for _, c := range tb.Cases {
					if got := decide(e, c); got != c.Allow {
						t.Errorf("%s: allowed %v, want %v", c.Name, got, c.Allow)
					}
				}
				if t.Failed() {
					t.Logf("generated Rego:\n%s", b.Rego)
				}
			})
		}
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the generated Rego (go test -update to accept):\n%s", file, got)
	}
}

// TestRefusals translates every testdata/refused file: each must be refused, naming
// every field its "# refused: FIELD" lines list, and no bundle is returned.
func TestRefusals(t *testing.T) {
	for _, file := range policyFiles(t, "refused") {
		t.Run(file, func(t *testing.T) {
			srcs := sources(t, file)
			var want []string
			for _, line := range strings.Split(string(srcs[len(srcs)-1].Data), "\n") {
				if f, ok := strings.CutPrefix(line, "# refused: "); ok {
					want = append(want, strings.TrimSpace(f))
				}
			}
			if len(want) == 0 {
				t.Fatal("no # refused: line")
			}
			b, err := translate.Translate(srcs, translate.Options{})
			var re *translate.RefusalError
			if !errors.As(err, &re) || b != nil {
				t.Fatalf("got bundle %v, error %v; want a refusal", b != nil, err)
			}
			got := map[string]bool{}
			for _, r := range re.Refusals {
				got[r.Field] = true
			}
			for _, f := range want {
				if !got[f] {
					t.Errorf("field %s not refused; refusals:\n%v", f, err)
				}
			}
		})
	}
}
