package translate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/translate"
)

// BenchmarkStarWars decides distinct requests (every one a decision-cache miss)
// with the shipped hand-written Star Wars bundle and with the translation of
// Cilium's Star Wars policy, side by side.
func BenchmarkStarWars(b *testing.B) {
	shipped, err := rego.New()
	if err != nil {
		b.Fatal(err)
	}
	if err := shipped.LoadDir(context.Background(), "starwars", "../../policies/starwars"); err != nil {
		b.Fatal(err)
	}
	tb, err := translate.Translate(sources(b, "testdata/cilium/starwars.yaml"), translate.Options{})
	if err != nil {
		b.Fatal(err)
	}
	translated := engine(b, tb)
	c := tcase{
		From:   peer{NS: "default", SA: "tiefighter", Labels: map[string]string{"org": "empire", "class": "tiefighter"}},
		To:     peer{NS: "default", Labels: map[string]string{"app": "deathstar", "org": "empire", "class": "deathstar"}},
		Method: "POST",
	}
	i := 0 // across runs: every decision a miss
	for _, e := range []struct {
		name string
		e    *rego.Engine
	}{{"shipped", shipped}, {"translated", translated}} {
		b.Run(e.name, func(b *testing.B) {
			for b.Loop() {
				i++
				c.Path = fmt.Sprintf("/v1/request-landing-%d", i) // a miss, denied by both
				if e.e.Decide(context.Background(), c.input()).Allowed {
					b.Fatal("allowed")
				}
			}
		})
	}
}
