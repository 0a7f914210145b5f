package identity

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
	"fmt"
)

// Refusals of a certificate signing request by ParseCSR (the cluster CA in the
// injector, which may not import identity, parses its requests itself).
var (
	// ErrMalformedCSR: not a PEM or DER PKCS#10 request.
	ErrMalformedCSR = errors.New("malformed certificate signing request")
	// ErrCSRSignature: the request is not signed by the key it carries, so its
	// sender did not prove it holds that key.
	ErrCSRSignature = errors.New("certificate signing request signature does not verify")
	// ErrKeyNotAllowed: a key type or size the CA does not sign.
	ErrKeyNotAllowed = errors.New("public key type or size not allowed")
)

// RSA key sizes the CA signs: smaller keys are weak, larger ones cost every peer's
// handshake and serve no one.
const (
	minRSABits = 2048
	maxRSABits = 4096
)

// CheckPublicKey accepts the keys an SVID may carry: ECDSA P-256 or P-384, Ed25519,
// and RSA of 2048 to 4096 bits.
func CheckPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
		return fmt.Errorf("%w: ECDSA curve %s (want P-256 or P-384)", ErrKeyNotAllowed, k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return fmt.Errorf("%w: RSA %d bits (want %d to %d)", ErrKeyNotAllowed, bits, minRSABits, maxRSABits)
		}
		return nil
	}
	return fmt.Errorf("%w: %T", ErrKeyNotAllowed, pub)
}

// ParseCSR reads a PKCS#10 request, PEM ("CERTIFICATE REQUEST") or DER, and checks
// that it is signed by its own key and that the key is allowed. Nothing else of the
// request is trusted: a CA signing it takes the public key only, never a subject,
// SAN or extension from it.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("%w: PEM block %q", ErrMalformedCSR, block.Type)
		}
		der = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedCSR, err)
	}
	if err := CheckPublicKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCSRSignature, err)
	}
	return csr, nil
}

// NewCSR returns a DER PKCS#10 request signed by key and carrying nothing but its
// public key: the cluster CA decides the ID from the caller's service-account token.
func NewCSR(key crypto.Signer) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, fmt.Errorf("create CSR: %w", err)
	}
	return der, nil
}
