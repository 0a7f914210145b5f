package suggest_test

import (
	"testing"

	"github.com/rampart-mesh/rampart/rego/suggest"
)

// BenchmarkSuggest adds b.N recorded decisions (the Star Wars log, cycled) and
// writes the bundle: the cost per decision of learning from a log, decoding aside.
func BenchmarkSuggest(b *testing.B) {
	recs := records(b, starwarsLog)
	b.ReportAllocs()
	fs := suggest.New()
	for i := 0; b.Loop(); i++ {
		fs.Add(recs[i%len(recs)])
	}
	if _, err := fs.Files(); err != nil {
		b.Fatal(err)
	}
}
