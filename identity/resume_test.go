package identity_test

import (
	"crypto/tls"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rampart-mesh/rampart/identity"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// swappableSource serves an SVID from a rotating source and a bundle the test can
// replace, standing in for a trust bundle update (a root removed).
type swappableSource struct {
	svid   x509svid.Source
	bundle atomic.Pointer[x509bundle.Bundle]
}

func (s *swappableSource) GetX509SVID() (*x509svid.SVID, error) { return s.svid.GetX509SVID() }

func (s *swappableSource) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	return s.bundle.Load().GetX509BundleForTrustDomain(td)
}

func swappable(t *testing.T, ca *identity.CA, id spiffeid.ID) *swappableSource {
	s := &swappableSource{svid: rotating(t, ca, id, 0)}
	s.bundle.Store(ca.Bundle())
	return s
}

// TestResumptionReverifies: a resumed session skips VerifyPeerCertificate, so the
// configs re-check the peer against the current bundle; once the peer's root is
// removed from a side's bundle, resumption fails closed on that side.
func TestResumptionReverifies(t *testing.T) {
	for _, side := range []string{"client", "server"} {
		t.Run(side+" drops the root", func(t *testing.T) {
			ca := newCA(t, testTD)
			srvSrc, cliSrc := swappable(t, ca, serverID), swappable(t, ca, clientID)
			srv := startWhoami(t, identity.ServerConfig(srvSrc, testTD, identity.TLSOptions{}))
			cfg := identity.ClientConfig(cliSrc, identity.AllowID(serverID), identity.TLSOptions{})
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)

			for i, wantResume := range []bool{false, true} {
				c, err := dial(srv.addr(), cfg)
				if err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				if _, err := ask(c); err != nil { // also reads the session ticket
					t.Fatalf("connection %d: %v", i, err)
				}
				if got := c.ConnectionState().DidResume; got != wantResume {
					t.Fatalf("connection %d resumed=%v, want %v", i, got, wantResume)
				}
				c.Close()
			}

			other := newCA(t, testTD).Bundle()
			if side == "client" {
				cliSrc.bundle.Store(other)
			} else {
				srvSrc.bundle.Store(other)
			}
			c, err := dial(srv.addr(), cfg)
			if err == nil {
				_, err = ask(c)
				c.Close()
			}
			if err == nil {
				t.Fatal("resumed session accepted after the peer's root was removed")
			}
			if side == "client" && !errors.Is(err, identity.ErrUntrusted) {
				t.Errorf("client error %v, want ErrUntrusted", err)
			}
			if side == "server" && !errors.Is(srv.waitError(t), identity.ErrUntrusted) {
				t.Errorf("server error %v, want ErrUntrusted", srv.waitError(t))
			}
		})
	}
}

// TestObserveHandshake counts failures the callbacks cannot see (the client side of
// a refusal) once, and leaves callback-counted ones alone.
func TestObserveHandshake(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := identity.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := identity.NewMetrics(reg); err == nil {
		t.Error("registering the metrics twice succeeded")
	}
	ca := newCA(t, testTD)
	srv := startWhoami(t, identity.ServerConfig(rotating(t, ca, serverID, 0), testTD, identity.TLSOptions{}))
	cfg := identity.ClientConfig(rotating(t, newCA(t, testTD), clientID, 0), identity.AllowID(serverID), identity.TLSOptions{Metrics: m})
	_, err = dial(srv.addr(), cfg) // the client does not trust the server's CA
	m.ObserveHandshake(false, err)
	if n := counterValue(t, reg, "rampart_identity_handshake_failures_total", "side", "client", "reason", "untrusted"); n != 1 {
		t.Errorf("client untrusted failures = %v, want 1 (counted by the callback only)", n)
	}
	m.ObserveHandshake(false, errors.New("connection reset by peer"))
	m.ObserveHandshake(true, nil)
	var nilMetrics *identity.Metrics
	nilMetrics.ObserveHandshake(true, err) // a nil *Metrics records nothing and does not panic
	if n := counterValue(t, reg, "rampart_identity_handshake_failures_total", "side", "client", "reason", "other"); n != 1 {
		t.Errorf("client other failures = %v, want 1", n)
	}
}
