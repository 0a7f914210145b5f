package rego_test

import (
	"context"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
)

// starWarsInput is what the proxy hands the engine for tiefighter's landing request:
// every field filled, as in production.
func starWarsInput() *rego.Input {
	return &rego.Input{
		Source: rego.Peer{
			Principal: "spiffe://cluster.local/ns/default/sa/tiefighter",
			Labels:    map[string]string{"org": "empire", "class": "tiefighter"},
			Address:   "198.18.0.2:40000",
		},
		Destination: rego.Peer{
			Principal: "spiffe://cluster.local/ns/default/sa/deathstar",
			Labels:    map[string]string{"org": "empire", "class": "deathstar", "app": "deathstar"},
			Address:   "198.18.0.3:80",
		},
		Request: &rego.Request{
			Method: "POST", Path: "/v1/request-landing", Host: "deathstar.default.svc.cluster.local",
			Headers: map[string]string{"user-agent": "curl/8.0", "accept": "*/*", "content-length": "0"},
			Scheme:  "http", Protocol: "HTTP/1.1",
		},
	}
}

func BenchmarkDecideStarWars(b *testing.B) {
	ctx := context.Background()
	e, err := rego.New()
	if err != nil {
		b.Fatal(err)
	}
	if err := e.LoadDir(ctx, "starwars", "../policies/starwars"); err != nil {
		b.Fatal(err)
	}
	in := starWarsInput()
	b.ReportAllocs()
	for b.Loop() {
		if d := e.Decide(ctx, in); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
}
