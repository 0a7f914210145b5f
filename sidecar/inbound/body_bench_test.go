package inbound_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// BenchmarkInboundBody is what reading a 1 kB JSON body for the policy costs the
// proxy: the same keep-alive 1 kB POST through the plaintext proxy with the Star Wars
// policy, with body reading off (as for every policy that does not reference the
// body) and on (the body buffered and handed to the policy before the decision).
// The policy's own parsing of the body is the engine's cost (rego benchmarks).
func BenchmarkInboundBody(b *testing.B) {
	for _, read := range []bool{false, true} {
		name := "off"
		if read {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			app := kbApp(b)
			e := engine(b, "../../policies/starwars")
			empire := map[string]string{"org": "empire", "class": "tiefighter"}
			authz := &bodyAuthz{e: e, labels: empire, p: rego.BodyPolicy{Read: read, MaxBytes: 8 << 10}}
			proxy := startProxy(b, inbound.Options{Authorizer: authz, Mode: inbound.Permissive, Upstream: app,
				LocalLabels: map[string]string{"app": "deathstar"}})
			k := newKeepAlive(b, dialB(b, proxy))
			json := `{"ship":"tiefighter","cargo":"` + strings.Repeat("x", 1024-32) + `"}`
			k.req = []byte("POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n" + json)
			for range 200 {
				k.do(b)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				k.do(b)
			}
			b.StopTimer()
			if read && authz.seen != 1024 {
				b.Fatalf("policy saw %d body bytes, want 1024", authz.seen)
			}
		})
	}
}

// bodyAuthz decides with the engine (tiefighter labels filled in) and reports p as
// its body policy.
type bodyAuthz struct {
	e      *rego.Engine
	labels map[string]string
	p      rego.BodyPolicy
	seen   int
}

func (a *bodyAuthz) Decide(ctx context.Context, in *rego.Input) rego.Decision {
	in.Source.Labels = a.labels
	a.seen = len(in.Request.Body)
	return a.e.Decide(ctx, in)
}

func (a *bodyAuthz) BodyPolicy() rego.BodyPolicy { return a.p }

// BenchmarkInboundTinyChunks is what the smallest chunks a request body may
// have cost the proxy end to end: a keep-alive POST whose 400 kB body comes in
// 100 000 four-byte chunks (httpx refuses smaller ones past the first 1024, such
// as test/bench/dos's chunk-abuse 100 000 one-byte chunks), through the plaintext
// proxy with the Star Wars policy, to an app that reads the body.
func BenchmarkInboundTinyChunks(b *testing.B) {
	app := kbApp(b)
	k := newKeepAlive(b, dialB(b, plaintextStarWars(b, app)))
	k.req = []byte("POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nTransfer-Encoding: chunked\r\n\r\n" +
		strings.Repeat("4\r\nabcd\r\n", 100000) + "0\r\n\r\n")
	for range 5 {
		k.do(b)
	}
	b.SetBytes(int64(len(k.req)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		k.do(b)
	}
}
