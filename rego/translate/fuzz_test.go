package translate_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego/translate"
)

// FuzzTranslate: any input is either refused (an error, never a panic) or becomes
// a bundle whose Rego compiles (Translate compiles it before returning).
func FuzzTranslate(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("kind: List\nitems: [{apiVersion: v1, kind: Namespace, metadata: {name: a}}]"))
	f.Add([]byte(`{"apiVersion":"projectcalico.org/v3","kind":"NetworkPolicy","spec":{"selector":"!(a in {'x'}) || has(b)"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := translate.Translate([]translate.Source{{Name: "fuzz.yaml", Data: data}}, translate.Options{})
		if err != nil {
			var re *translate.RefusalError
			if b != nil || (!errors.As(err, &re) && !strings.HasPrefix(err.Error(), "translate: ")) {
				t.Fatalf("bundle %v with error %v", b != nil, err)
			}
			if strings.Contains(err.Error(), "translator bug") {
				t.Fatalf("%v\ninput:\n%s", err, data)
			}
			return
		}
		if len(b.Rego) == 0 || len(b.Data) == 0 {
			t.Fatal("empty bundle without an error")
		}
	})
}
