package e2e_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/rampart-mesh/rampart/test/demo"
)

// BenchmarkPaths sends POST /v1/request-landing sequentially, one new connection
// per request, over four paths built side by side in one Env, so their ratios
// can be compared in one run:
//
//	direct:      unmeshed client -> unmeshed app (veth and bridge only)
//	inbound:     unmeshed client -> deathstar pod, PERMISSIVE proxy decides
//	passthrough: meshed client -> unmeshed app (outbound proxy, no mTLS)
//	mesh:        meshed client -> VIP -> outbound -> HBONE mTLS -> inbound -> app
//
// Every request includes the client's stdin/stdout round trip, which is the
// same on all paths.
func BenchmarkPaths(b *testing.B) {
	env := benchEnv(b)
	sw, err := demo.StartStarWars(env, demo.StarWarsOptions{Mode: demo.Permissive})
	if err != nil {
		b.Fatal(err)
	}
	outpost, err := env.AddPod(demo.PodSpec{Name: "outpost", IP: netip.MustParseAddr("198.18.8.32"),
		Labels: map[string]string{"app": "deathstar"}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := outpost.StartDeathstar(); err != nil {
		b.Fatal(err)
	}
	landing := "/v1/request-landing"
	direct := fmt.Sprintf("http://%s%s", outpost.IP, landing)
	for _, p := range []struct {
		name   string
		client *demo.Client
		url    string
		status int
	}{
		{"direct", sw.Smuggler, direct, 200},
		{"inbound", sw.Smuggler, sw.PodURL(landing), 403},
		{"passthrough", sw.Tiefighter, direct, 200},
		{"mesh", sw.Tiefighter, sw.ServiceURL(landing), 200},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				r, err := p.client.Do("POST", p.url)
				if err != nil || r.Status != p.status {
					b.Fatalf("%+v %v", r, err)
				}
			}
		})
	}
}

func benchEnv(b *testing.B) *demo.Env {
	b.Helper()
	if err := demo.Check(); err != nil {
		b.Skip(err)
	}
	env, err := demo.NewEnv(demo.EnvOptions{Tag: "rpe2e", Helper: demo.TestHelper(), ProxyBinary: proxyBinary})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = env.Close() })
	return env
}
