package identity

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// File names of the built-in CA in its directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// InitCA creates a new root for td, valid for ttl (DefaultCATTL when 0), and writes
// it to dir (created 0700): ca.crt and ca.key (0600). It refuses to overwrite an
// existing CA, because replacing a root silently breaks every SVID it issued.
func InitCA(dir string, td spiffeid.TrustDomain, ttl time.Duration) (*CA, error) {
	ca, err := NewCA(td, ttl)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("init CA: %w", err)
	}
	certPEM, keyPEM, err := ca.MarshalPEM()
	if err != nil {
		return nil, fmt.Errorf("init CA: %w", err)
	}
	keyPath, certPath := filepath.Join(dir, CAKeyFile), filepath.Join(dir, CACertFile)
	if err := createExclusive(keyPath, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("init CA: %w", err)
	}
	if err := createExclusive(certPath, certPEM, 0o644); err != nil {
		os.Remove(keyPath) // the key alone is useless and would block a retry
		return nil, fmt.Errorf("init CA: %w", err)
	}
	return ca, nil
}

// LoadCA reads the CA that InitCA wrote to dir, with the checks of ParseCA.
func LoadCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	ca, err := ParseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA (%s, %s): %w", certPath, keyPath, err)
	}
	return ca, nil
}

// ParseCA parses a CA certificate and its PKCS#8 private key, both PEM (ca.crt and
// ca.key of InitCA, or the cluster CA's Secret), checking that the certificate is a
// CA whose URI SAN names its trust domain and that the key matches it.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCertificate(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	td, err := caTrustDomain(cert)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	key, err := parseSigner(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, errors.New("CA key does not match the CA certificate")
	}
	return &CA{td: td, cert: cert, key: key}, nil
}

// MarshalPEM returns the CA certificate and its PKCS#8 private key as PEM, the form
// ParseCA reads. The key is secret: callers store it only where InitCA or the
// cluster CA's Secret would.
func (ca *CA) MarshalPEM() (certPEM, keyPEM []byte, err error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode CA key: %w", err)
	}
	return pemBlock("CERTIFICATE", ca.cert.Raw), pemBlock("PRIVATE KEY", keyDER), nil
}

func caTrustDomain(cert *x509.Certificate) (spiffeid.TrustDomain, error) {
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return spiffeid.TrustDomain{}, errors.New("not a CA certificate (no CA bit or certSign usage)")
	}
	if len(cert.URIs) != 1 {
		return spiffeid.TrustDomain{}, fmt.Errorf("want one URI SAN naming the trust domain, have %d", len(cert.URIs))
	}
	id, err := spiffeid.FromURI(cert.URIs[0])
	if err != nil || id.Path() != "" {
		return spiffeid.TrustDomain{}, fmt.Errorf("URI SAN %q is not a trust domain ID", cert.URIs[0])
	}
	return id.TrustDomain(), nil
}

// firstPEM returns the bytes of the first PEM block of b, which must be of type typ;
// what names the block in the error (e.g. "PRIVATE KEY (PKCS#8)").
func firstPEM(b []byte, typ, what string) ([]byte, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("no PEM %s block", what)
	}
	return block.Bytes, nil
}

func parseCertificate(b []byte) (*x509.Certificate, error) {
	der, err := firstPEM(b, "CERTIFICATE", "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func parseSigner(b []byte) (crypto.Signer, error) {
	der, err := firstPEM(b, "PRIVATE KEY", "PRIVATE KEY (PKCS#8)")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key of type %T cannot sign", key)
	}
	return signer, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func createExclusive(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
