package identity_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rampart-mesh/rampart/identity"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// craftedCA is a root the test holds the key of, written to disk and loaded with
// LoadCA, so the test can sign leaves the CA itself refuses to issue.
type craftedCA struct {
	*identity.CA
	key crypto.Signer
}

func newCraftedCA(t *testing.T, td spiffeid.TrustDomain) craftedCA {
	t.Helper()
	if *update {
		return newCraftedCAValid(t, td, genNotBefore, genNotAfter)
	}
	return newCraftedCAValid(t, td, time.Now().Add(-time.Hour), time.Now().Add(48*time.Hour))
}

func newCraftedCAValid(t *testing.T, td spiffeid.TrustDomain, notBefore, notAfter time.Time) craftedCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "crafted"},
		URIs:      []*url.URL{td.ID().URL()},
		NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, identity.CACertFile), "CERTIFICATE", der)
	writePEM(t, filepath.Join(dir, identity.CAKeyFile), "PRIVATE KEY", keyDER)
	ca, err := identity.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	return craftedCA{CA: ca, key: key}
}

// sign issues an arbitrary leaf; edit changes the SVID-shaped template first.
func (c craftedCA) sign(t *testing.T, edit func(*x509.Certificate)) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		URIs:         []*url.URL{clientID.URL()},
		NotBefore:    time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.Root(), key.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pemOf(typ, der), 0o600); err != nil {
		t.Fatal(err)
	}
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// svidCert turns an SVID into what a hand-made client config presents. It takes the
// issuer's two results directly; an issuing error is a broken test, hence the panic.
func svidCert(s *x509svid.SVID, err error) tls.Certificate {
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{s.Certificates[0].Raw}, PrivateKey: s.PrivateKey}
}

// rawClient is a client that offers whatever certificate it is given (or none) and
// does not check the server, to probe the server's refusals.
func rawClient(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: certs, InsecureSkipVerify: true, NextProtos: []string{"h2"},
		MinVersion: tls.VersionTLS13,
	}
}

// TestHandshakeMatrixServerRefuses runs real handshakes over 127.0.0.1 against a
// ServerConfig and checks each bad client is refused, with the reason the server
// gives and counts.
func TestHandshakeMatrixServerRefuses(t *testing.T) {
	trusted := newCraftedCA(t, testTD)
	now := time.Now()
	cases := []struct {
		name   string
		client func(t *testing.T) *tls.Config
		reason string
		want   error
	}{
		{"no client certificate", func(t *testing.T) *tls.Config { return rawClient() }, "no_peer_certificate", nil},
		{"wrong trust domain", func(t *testing.T) *tls.Config {
			evil := newCA(t, spiffeid.RequireTrustDomainFromString("evil.test"))
			return rawClient(svidCert(evil.Issue(spiffeid.RequireFromString("spiffe://evil.test/ns/default/sa/tiefighter"), time.Hour)))
		}, "wrong_trust_domain", identity.ErrWrongTrustDomain},
		{"expired", func(t *testing.T) *tls.Config {
			return rawClient(svidCert(trusted.IssueWithValidity(clientID, now.Add(-2*time.Hour), now.Add(-time.Hour))))
		}, "expired", identity.ErrExpired},
		{"not yet valid", func(t *testing.T) *tls.Config {
			return rawClient(svidCert(trusted.IssueWithValidity(clientID, now.Add(time.Hour), now.Add(2*time.Hour))))
		}, "not_yet_valid", identity.ErrNotYetValid},
		{"untrusted CA of the same trust domain", func(t *testing.T) *tls.Config {
			return rawClient(svidCert(newCA(t, testTD).Issue(clientID, time.Hour)))
		}, "untrusted", identity.ErrUntrusted},
		{"DNS SAN instead of SPIFFE URI", func(t *testing.T) *tls.Config {
			return rawClient(trusted.sign(t, func(c *x509.Certificate) { c.URIs = nil; c.DNSNames = []string{"tiefighter.default.svc"} }))
		}, "not_spiffe", identity.ErrNotSPIFFE},
		{"https URI SAN", func(t *testing.T) *tls.Config {
			return rawClient(trusted.sign(t, func(c *x509.Certificate) {
				c.URIs = []*url.URL{{Scheme: "https", Host: "test.rampart", Path: "/ns/default/sa/x"}}
			}))
		}, "not_spiffe", identity.ErrNotSPIFFE},
		{"two URI SANs", func(t *testing.T) *tls.Config {
			return rawClient(trusted.sign(t, func(c *x509.Certificate) { c.URIs = append(c.URIs, serverID.URL()) }))
		}, "not_spiffe", identity.ErrNotSPIFFE},
		{"leaf with CA bit", func(t *testing.T) *tls.Config {
			return rawClient(trusted.sign(t, func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true }))
		}, "not_spiffe", identity.ErrNotSPIFFE},
		{"ALPN http/1.1 only", func(t *testing.T) *tls.Config {
			cfg := rawClient(svidCert(trusted.Issue(clientID, time.Hour)))
			cfg.NextProtos = []string{"http/1.1"}
			return cfg
		}, "protocol", nil},
		{"TLS 1.2", func(t *testing.T) *tls.Config {
			cfg := identity.ClientConfig(rotating(t, trusted.CA, clientID, 0), identity.AllowID(serverID), identity.TLSOptions{})
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
			return cfg
		}, "protocol", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := identity.NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			srv := startObservedWhoami(t, identity.ServerConfig(rotating(t, trusted.CA, serverID, 0), testTD, identity.TLSOptions{Metrics: m}), m)
			c, err := dial(srv.addr(), tc.client(t))
			if err == nil {
				// TLS 1.3 clients finish before the server checks them: the refusal
				// arrives as an alert on the first read.
				var got string
				got, err = ask(c)
				c.Close()
				if err == nil {
					t.Fatalf("client accepted; server saw it as %q", got)
				}
			}
			serverErr := srv.waitError(t)
			if got := identity.Reason(serverErr); got != tc.reason {
				t.Errorf("server error %q has reason %q, want %q", serverErr, got, tc.reason)
			}
			if tc.want != nil && !errors.Is(serverErr, tc.want) {
				t.Errorf("server error %q does not wrap %q", serverErr, tc.want)
			}
			if n := counterValue(t, reg, "rampart_identity_handshake_failures_total", "side", "server", "reason", tc.reason); n != 1 {
				t.Errorf("handshake_failures{side=server,reason=%s} = %v, want 1", tc.reason, n)
			}
			t.Logf("client: %v; server: %v", err, serverErr)
		})
	}
}

// TestHandshakeMatrixClientRefuses checks the client side: a server whose SVID fails
// the client's authorizer or trust is refused before any request is sent.
func TestHandshakeMatrixClientRefuses(t *testing.T) {
	ca := newCA(t, testTD)
	other := spiffeid.RequireFromString("spiffe://test.rampart/ns/default/sa/other")
	otherTD := spiffeid.RequireTrustDomainFromString("other.test")
	otherServer := spiffeid.RequireFromString("spiffe://other.test/ns/default/sa/deathstar")
	cases := []struct {
		name   string
		server *identity.CA
		id     spiffeid.ID
		allow  identity.Authorizer
		want   error
	}{
		{"client requires an ID the server does not hold", ca, serverID, identity.AllowID(clientID), identity.ErrUnauthorizedID},
		{"server ID not in the client's set", ca, serverID, identity.AllowAnyOf(clientID, other), identity.ErrUnauthorizedID},
		{"server from an untrusted CA", newCA(t, testTD), serverID, identity.AllowID(serverID), identity.ErrUntrusted},
		{"server from another trust domain", newCA(t, otherTD), otherServer, identity.AllowTrustDomain(otherTD), identity.ErrWrongTrustDomain},
		{"client requires another trust domain", ca, serverID, identity.AllowTrustDomain(otherTD), identity.ErrWrongTrustDomain},
		{"nil authorizer denies", ca, serverID, nil, identity.ErrUnauthorizedID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startWhoami(t, identity.ServerConfig(rotating(t, tc.server, tc.id, 0), tc.id.TrustDomain(), identity.TLSOptions{}))
			_, err := dial(srv.addr(), identity.ClientConfig(rotating(t, ca, clientID, 0), tc.allow, identity.TLSOptions{}))
			if !errors.Is(err, tc.want) {
				t.Fatalf("handshake error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.id.TrustDomain().Name()) {
				t.Errorf("error %q does not name the offending ID", err)
			}
		})
	}
}

// TestHandshakeMatrixAccepts: every positive combination of authorizers.
func TestHandshakeMatrixAccepts(t *testing.T) {
	ca := newCA(t, testTD)
	srv := startWhoami(t, identity.ServerConfig(rotating(t, ca, serverID, 0), testTD, identity.TLSOptions{}))
	for name, allow := range map[string]identity.Authorizer{
		"exact ID":     identity.AllowID(serverID),
		"set":          identity.AllowAnyOf(clientID, serverID),
		"trust domain": identity.AllowTrustDomain(testTD),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := dial(srv.addr(), identity.ClientConfig(rotating(t, ca, clientID, 0), allow, identity.TLSOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got, err := ask(c); err != nil || got != clientID.String() {
				t.Fatalf("server saw %q, %v", got, err)
			}
		})
	}
}
