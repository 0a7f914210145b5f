package sidecar_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// TestCheckTokenOnlyThroughCapture: a proxy answers the capture check only for a
// connection eBPF capture redirected from the sentinel (proved on the kernel by
// cmd/rampart-proxy's TestCaptureCheck). Every other way to the sentinel, through
// the same real proxy, gets no token: a connect straight to the capture listener
// (its original destination is the listener itself), an HBONE tunnel whose
// authority is the sentinel (the inbound side refuses it), and an explicit route
// to it (the kernel refuses the dial).
func TestCheckTokenOnlyThroughCapture(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	ca, err := identity.NewCA(td, 0)
	if err != nil {
		t.Fatal(err)
	}
	podSrc, podID := checkSVID(t, ca, td, "pod")
	peerSrc, _ := checkSVID(t, ca, td, "peer")
	capture, hbone := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		err := sidecar.Run(ctx, sidecar.Options{
			Logger:   quiet,
			Policy:   sidecar.PolicyOptions{Bundle: "../policies/starwars"},
			Identity: sidecar.IdentityOptions{Source: podSrc},
			Inbound:  sidecar.InboundOptions{HBONEAddr: hbone, PodIPs: []netip.Addr{netip.MustParseAddr("198.18.0.10")}},
			Outbound: sidecar.OutboundOptions{CaptureAddr: capture},
		})
		if err != nil {
			t.Errorf("pod proxy: %v", err)
		}
	})
	waitListening(t, hbone)
	waitListening(t, capture)
	sentinel := outbound.CheckAddr().String()
	tunnel, plain := freeAddr(t), freeAddr(t)
	peer, err := outbound.New(outbound.Options{
		Routes: []outbound.Route{
			{Listen: tunnel, Destination: sentinel, Identity: podID.String(), Proxy: hbone},
			{Listen: plain, Destination: sentinel, Plain: true},
		},
		TLS: func(server spiffeid.ID) *tls.Config {
			return identity.ClientConfig(peerSrc, identity.AllowID(server), identity.TLSOptions{})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { peer.Run(ctx) })
	waitListening(t, tunnel)
	for name, addr := range map[string]string{
		"straight to the capture listener": capture,
		"HBONE to the sentinel":            tunnel,
		"explicit route to the sentinel":   plain,
	} {
		if got := answer(t, addr); strings.Contains(got, strings.TrimSpace(outbound.CheckToken)) {
			t.Errorf("%s: answered %q", name, got)
		}
	}
}

func checkSVID(t *testing.T, ca *identity.CA, td spiffeid.TrustDomain, sa string) (identity.Source, spiffeid.ID) {
	t.Helper()
	id, _ := identity.NewWorkloadID(td, "default", sa)
	src, err := identity.NewRotatingSource(ca, id, identity.RotatingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src, id
}

// answer returns everything addr sends before closing (bounded in size and time).
func answer(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(io.LimitReader(c, 4096))
	return string(b)
}
