package injector_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/injector"
)

// TestInjectYAMLGolden runs the offline injector over testdata/inject/* and compares
// the output (or the error, for bad-* files) with <name>.golden.
func TestInjectYAMLGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/inject/*.*")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden") {
			continue
		}
		n++
		name := strings.TrimSuffix(f, filepath.Ext(f))
		t.Run(filepath.Base(name), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = injector.InjectYAML(bytes.NewReader(in), &out, injector.Config{})
			if strings.HasPrefix(filepath.Base(name), "bad-") != (err != nil) {
				t.Fatalf("error %v for %s", err, f)
			}
			got := out.Bytes()
			if err != nil {
				got = []byte("error: " + err.Error() + "\n")
			}
			golden(t, name+".golden", got)
		})
	}
	if n < 6 {
		t.Fatalf("only %d cases in testdata/inject", n)
	}
}
