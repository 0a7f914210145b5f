package identity_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/identity"
)

func newCSR(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := identity.NewCSR(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestParseCSR: allowed keys pass in PEM and DER; weak keys, bad signatures and
// things that are not CSRs are refused with the sentinel the CA counts.
func TestParseCSR(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	badSig := newCSR(t, p256)
	badSig[len(badSig)-1] ^= 0xff
	ca := testCA(t)
	for _, tt := range []struct {
		name string
		data []byte
		want error
	}{
		{"p256 der", newCSR(t, p256), nil},
		{"p256 pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: newCSR(t, p256)}), nil},
		{"p384", newCSR(t, p384), nil},
		{"ed25519", newCSR(t, ed), nil},
		{"rsa2048", newCSR(t, rsa2048), nil},
		{"p224", newCSR(t, p224), identity.ErrKeyNotAllowed},
		{"rsa1024", newCSR(t, rsa1024), identity.ErrKeyNotAllowed},
		{"bad signature", badSig, identity.ErrCSRSignature},
		{"garbage", []byte("hello"), identity.ErrMalformedCSR},
		{"certificate pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root().Raw}), identity.ErrMalformedCSR},
		{"certificate der", ca.Root().Raw, identity.ErrMalformedCSR},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := identity.ParseCSR(tt.data)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// TestIssueForKey: the leaf carries the given workload ID only, the given key, no
// CA bit; IDs outside the CA's trust domain or not of workload form are refused.
func TestIssueForKey(t *testing.T) {
	ca := testCA(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	chain, err := ca.IssueForKey(key.Public(), clientID.String(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	leaf := chain[0]
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != clientID.String() || leaf.IsCA ||
		leaf.KeyUsage != x509.KeyUsageDigitalSignature || !key.PublicKey.Equal(leaf.PublicKey) {
		t.Errorf("leaf: URIs %v CA %v usage %b", leaf.URIs, leaf.IsCA, leaf.KeyUsage)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool(ca.Roots()...), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("leaf does not verify: %v", err)
	}
	weak, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	for _, bad := range []struct {
		id  string
		key crypto.PublicKey
		ttl time.Duration
	}{
		{"spiffe://other.org/ns/default/sa/x", key.Public(), time.Minute},
		{"spiffe://test.rampart/admin", key.Public(), time.Minute},
		{"spiffe://test.rampart/ns/default/sa/x/extra", key.Public(), time.Minute},
		{clientID.String(), weak.Public(), time.Minute},
		{clientID.String(), key.Public(), 25 * time.Hour},
	} {
		if _, err := ca.IssueForKey(bad.key, bad.id, bad.ttl); err == nil {
			t.Errorf("issued %s (ttl %s, key %T)", bad.id, bad.ttl, bad.key)
		}
	}
}

// TestCAPEMRoundTrip: MarshalPEM and ParseCA agree, and a key of another root is
// refused.
func TestCAPEMRoundTrip(t *testing.T) {
	ca, other := testCA(t), testCA(t)
	cert, key, err := ca.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	back, err := identity.ParseCA(cert, key)
	if err != nil || !back.Root().Equal(ca.Root()) || back.TrustDomain() != testTD {
		t.Fatalf("round trip: %v", err)
	}
	_, otherKey, _ := other.MarshalPEM()
	if _, err := identity.ParseCA(cert, otherKey); err == nil {
		t.Error("a mismatched key was accepted")
	}
}

// TestServingCertificate: a server certificate for DNS names and IPs that chains
// to the root and carries no SPIFFE ID.
func TestServingCertificate(t *testing.T) {
	ca := testCA(t)
	c, err := ca.ServingCertificate([]string{"rampart-injector.rampart-system.svc", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rampart-injector.rampart-system.svc", "127.0.0.1"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool(ca.Roots()...)}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(c.Leaf.URIs) != 0 || c.Leaf.IsCA {
		t.Errorf("serving certificate has URIs %v / CA %v", c.Leaf.URIs, c.Leaf.IsCA)
	}
}

func testCA(t testing.TB) *identity.CA {
	t.Helper()
	ca, err := identity.NewCA(testTD, time.Hour*48)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// BenchmarkIssueForKey is the signing alone (no TokenReview, no TLS): the floor of
// the cluster CA's answer time.
//
//	go test -run '^$' -bench IssueForKey ./identity/
func BenchmarkIssueForKey(b *testing.B) {
	ca := testCA(b)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der := newCSR(b, key)
	b.ReportAllocs()
	for b.Loop() {
		csr, err := identity.ParseCSR(der)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ca.IssueForKey(csr.PublicKey, clientID.String(), time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
