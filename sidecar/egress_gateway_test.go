package sidecar_test

import (
	"context"
	"crypto/tls"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// TestEgressGatewayTunnel runs a real gateway (sidecar.Run with ServeGateway,
// HBONE over mTLS) and a pod's outbound proxy dialling it: the gateway accepts a
// tunnel to an outside address and hands it to its guard, refuses tunnels to
// itself (loopback, its admin port), and a proxy refuses a "gateway" presenting
// another SPIFFE ID. Egress to real outside hosts through the gateway is
// test/e2e's TestEgressGateway (network namespaces).
func TestEgressGatewayTunnel(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	ca, err := identity.NewCA(td, 0)
	if err != nil {
		t.Fatal(err)
	}
	svid := func(ns, sa string) (identity.Source, spiffeid.ID) {
		id, _ := identity.NewWorkloadID(td, ns, sa)
		src, err := identity.NewRotatingSource(ca, id, identity.RotatingOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src, id
	}
	bundle := t.TempDir()
	egressRego, err := os.ReadFile("../policies/egress/egress.rego")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"egress.rego": string(egressRego),
		"authz.rego": "package rampart.authz\n\ndefault allow := false\n",
		".manifest":  `{"revision": "gw", "roots": ["rampart/egress", "rampart/authz"]}`} {
		if err := os.WriteFile(filepath.Join(bundle, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gwSrc, gwID := svid("rampart-system", "rampart-egress-gateway")
	hbone := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		err := sidecar.Run(ctx, sidecar.Options{Logger: quiet,
			Policy:   sidecar.PolicyOptions{Bundle: bundle},
			Identity: sidecar.IdentityOptions{Source: gwSrc},
			Inbound:  sidecar.InboundOptions{HBONEAddr: hbone},
			Outbound: sidecar.OutboundOptions{Egress: sidecar.EgressOptions{ServeGateway: true}},
		})
		if err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	waitListening(t, hbone)
	podSrc, _ := svid("default", "a")
	p, err := outbound.New(outbound.Options{TLS: func(server spiffeid.ID) *tls.Config {
		return identity.ClientConfig(podSrc, identity.AllowID(server), identity.TLSOptions{})
	}})
	if err != nil {
		t.Fatal(err)
	}
	via := netip.MustParseAddrPort(hbone)
	_, otherID := svid("default", "impostor")
	for _, c := range []struct {
		name, dst string
		id        spiffeid.ID
		wantErr   string // "" = the stream opens
	}{
		{"outside address accepted", "198.18.200.1:443", gwID, ""},
		{"loopback refused", "127.0.0.1:15020", gwID, "403"},
		{"unspecified refused", "0.0.0.0:80", gwID, "403"},
		{"gateway with another identity refused", "198.18.200.1:443", otherID, "impostor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := p.DialTunnel(ctx, via, c.id, netip.MustParseAddrPort(c.dst))
			if st != nil {
				st.Close()
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("tunnel to %s: %v", c.dst, err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("tunnel to %s: error %v, want one with %q", c.dst, err, c.wantErr)
			}
		})
	}
}
