package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

const (
	// DefaultCATTL is how long a root made by NewCA/InitCA is valid.
	DefaultCATTL = 365 * 24 * time.Hour
	// DefaultSVIDTTL is the lifetime of an SVID when none is asked for.
	DefaultSVIDTTL = time.Hour
	// MaxSVIDTTL caps SVID lifetimes: the built-in CA has no revocation, so short
	// lifetimes are the only way a leaked key stops working.
	MaxSVIDTTL = 24 * time.Hour
	// clockSkew backdates NotBefore so peers with slightly slow clocks accept new SVIDs.
	clockSkew = 30 * time.Second
)

// CA is the built-in certificate authority of one trust domain: a self-signed
// ECDSA P-256 root that issues X.509 SVIDs. It holds no mutable state and is safe
// for concurrent use.
type CA struct {
	td   spiffeid.TrustDomain
	cert *x509.Certificate
	key  crypto.Signer
}

// NewCA creates a new in-memory root for trust domain td, valid for ttl
// (DefaultCATTL when ttl is 0).
func NewCA(td spiffeid.TrustDomain, ttl time.Duration) (*CA, error) {
	if td.IsZero() {
		return nil, errors.New("new CA: empty trust domain")
	}
	if ttl == 0 {
		ttl = DefaultCATTL
	}
	if ttl < 0 {
		return nil, fmt.Errorf("new CA: negative lifetime %s", ttl)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new CA: generate key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: []string{"Rampart"}, CommonName: "Rampart CA " + td.Name()},
		URIs:                  []*url.URL{td.ID().URL()},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(ttl),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new CA: self-sign: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new CA: parse root: %w", err)
	}
	return &CA{td: td, cert: cert, key: key}, nil
}

// TrustDomain returns the trust domain the CA issues for.
func (ca *CA) TrustDomain() spiffeid.TrustDomain { return ca.td }

// Root returns the CA certificate.
func (ca *CA) Root() *x509.Certificate { return ca.cert }

// Bundle returns a fresh trust bundle holding the CA's root.
func (ca *CA) Bundle() *x509bundle.Bundle {
	return x509bundle.FromX509Authorities(ca.td, []*x509.Certificate{ca.cert})
}

// Issue issues an SVID for id valid for ttl from now (DefaultSVIDTTL when 0; at most
// MaxSVIDTTL and never past the root's expiry): a fresh ECDSA P-256 key and a leaf
// whose only SAN is the SPIFFE ID URI.
func (ca *CA) Issue(id spiffeid.ID, ttl time.Duration) (*x509svid.SVID, error) {
	notBefore, notAfter, err := ca.validity(ttl)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", id, err)
	}
	return ca.IssueWithValidity(id, notBefore, notAfter)
}

// validity returns the window of a certificate living ttl from now (DefaultSVIDTTL
// when 0), refusing lifetimes past MaxSVIDTTL or the root's own expiry.
func (ca *CA) validity(ttl time.Duration) (notBefore, notAfter time.Time, err error) {
	if ttl == 0 {
		ttl = DefaultSVIDTTL
	}
	if ttl < 0 || ttl > MaxSVIDTTL {
		return notBefore, notAfter, fmt.Errorf("lifetime %s outside (0, %s]", ttl, MaxSVIDTTL)
	}
	now := time.Now()
	// Certificates carry whole seconds and Go truncates: round up so an SVID never
	// lives shorter than asked (that matters for TTLs of a few seconds).
	notAfter = now.Add(ttl).Add(time.Second - 1).Truncate(time.Second)
	if notAfter.After(ca.cert.NotAfter) {
		return notBefore, notAfter, fmt.Errorf("lifetime %s outlives the CA (expires %s)", ttl, ca.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return now.Add(-clockSkew), notAfter, nil
}

// IssueWithValidity issues an SVID with an explicit validity window. It exists for
// tests and tools that need expired or not-yet-valid SVIDs; proxies use Issue.
func (ca *CA) IssueWithValidity(id spiffeid.ID, notBefore, notAfter time.Time) (*x509svid.SVID, error) {
	if id.IsZero() {
		return nil, errors.New("issue: empty SPIFFE ID")
	}
	if !id.MemberOf(ca.td) {
		return nil, fmt.Errorf("issue %s: %w: CA issues for %q only", id, ErrWrongTrustDomain, ca.td)
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("issue %s: NotAfter %s is not after NotBefore %s", id, notAfter, notBefore)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issue %s: generate key: %w", id, err)
	}
	der, err := x509.CreateCertificate(rand.Reader, leafTemplate(id, notBefore, notAfter), ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("issue %s: sign: %w", id, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue %s: parse leaf: %w", id, err)
	}
	return &x509svid.SVID{ID: id, Certificates: []*x509.Certificate{leaf}, PrivateKey: key}, nil
}

// leafTemplate follows the X509-SVID spec: no CA bit, digitalSignature, a single URI
// SAN. Both TLS usages, because every proxy is a server and a client.
func leafTemplate(id spiffeid.ID, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: []string{"Rampart"}},
		URIs:                  []*url.URL{id.URL()},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
}

func randomSerial() *big.Int {
	// 128 random bits; rand.Int only fails if the system RNG does, which crypto/rand
	// treats as fatal anyway.
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	return n
}
