package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"time"
)

// IssueForKey signs pub (the key of a checked CSR, see ParseCSR) into an SVID leaf for
// the workload ID id, valid for ttl (as Issue). id must be a workload ID of the CA's
// trust domain (spiffe://<td>/ns/<ns>/sa/<sa>). The caller decides id from an
// authenticated source (the cluster CA: a TokenReview), never from the request; the
// leaf's only SAN is id and it is never a CA. It returns the chain, leaf first.
func (ca *CA) IssueForKey(pub crypto.PublicKey, id string, ttl time.Duration) ([]*x509.Certificate, error) {
	w, err := ParseWorkloadID(ca.td, id)
	if err != nil {
		return nil, fmt.Errorf("issue: %w", err)
	}
	if err := CheckPublicKey(pub); err != nil {
		return nil, fmt.Errorf("issue %s: %w", id, err)
	}
	notBefore, notAfter, err := ca.validity(ttl)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", id, err)
	}
	tmpl := leafTemplate(w.ID(), notBefore, notAfter)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature // key agreement means nothing for RSA or Ed25519 keys
	leaf, err := ca.sign(tmpl, pub)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", id, err)
	}
	return []*x509.Certificate{leaf}, nil
}

// ServingCertificate issues a TLS server certificate for hosts (DNS names or IP
// addresses) with a fresh ECDSA P-256 key, valid for ttl: the cluster CA serves its
// own endpoint with it, so a proxy needs only the trust bundle to reach the CA. It has
// no URI SAN, so no peer takes it for an SVID.
func (ca *CA) ServingCertificate(hosts []string, ttl time.Duration) (*tls.Certificate, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("serving certificate: no host names")
	}
	notBefore, notAfter, err := ca.validity(ttl)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: []string{"Rampart"}, CommonName: hosts[0]},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	leaf, err := ca.sign(tmpl, key.Public())
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// Roots returns the trust anchors of the CA's trust domain (its root).
func (ca *CA) Roots() []*x509.Certificate { return []*x509.Certificate{ca.cert} }

// TrustDomainName returns the trust domain's name, e.g. "cluster.local".
func (ca *CA) TrustDomainName() string { return ca.td.Name() }

func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return x509.ParseCertificate(der)
}
