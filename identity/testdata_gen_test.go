package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"flag"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

var update = flag.Bool("update", false, "regenerate the certificate files under testdata/")

// Validity of generated testdata: long enough that the files never expire under CI.
var (
	genNotBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	genNotAfter  = time.Date(2125, 1, 1, 0, 0, 0, 0, time.UTC)
)

// generateTestdata writes the bad-input cases of testdata/files and testdata/ca.
// Each case directory holds the files and a "want" file with a fragment the error
// must contain. Run with `go test -run TestBadFiles -update ./identity/`.
func generateTestdata(t *testing.T) {
	root := newCraftedCA(t, testTD)
	other := newCraftedCA(t, testTD)
	good := issueLong(t, root)
	otherSVID := issueLong(t, other)
	certPEM, keyPEM, _ := good.Marshal()
	_, otherKey, _ := otherSVID.Marshal()
	bundlePEM := pemOf("CERTIFICATE", root.Root().Raw)
	expired, _ := root.IssueWithValidity(clientID, genNotBefore, genNotBefore.Add(time.Hour))
	expiredPEM, expiredKey, _ := expired.Marshal()
	dnsCert, dnsKey := craftLong(t, root, func(c *x509.Certificate) { c.URIs = nil; c.DNSNames = []string{"x.test"} })
	caKey, _ := x509.MarshalPKCS8PrivateKey(root.key)

	files := map[string]map[string][]byte{
		"good":            {"svid.pem": certPEM, "svid.key": keyPEM, "bundle.pem": bundlePEM},
		"garbage-cert":    {"svid.pem": []byte("not a certificate\n"), "svid.key": keyPEM, "bundle.pem": bundlePEM, "want": []byte("svid.pem")},
		"missing-key":     {"svid.pem": certPEM, "bundle.pem": bundlePEM, "want": []byte("svid.key: no such file")},
		"key-is-dir":      {"svid.pem": certPEM, "svid.key/.keep": nil, "bundle.pem": bundlePEM, "want": []byte("svid.key: is a directory")},
		"mismatched-key":  {"svid.pem": certPEM, "svid.key": otherKey, "bundle.pem": bundlePEM, "want": []byte("does not match private key")},
		"empty-bundle":    {"svid.pem": certPEM, "svid.key": keyPEM, "bundle.pem": nil, "want": []byte("no root certificates")},
		"bundle-only-key": {"svid.pem": certPEM, "svid.key": keyPEM, "bundle.pem": keyPEM, "want": []byte("bundle.pem")},
		"untrusted":       {"svid.pem": certPEM, "svid.key": keyPEM, "bundle.pem": pemOf("CERTIFICATE", other.Root().Raw), "want": []byte("does not verify against bundle")},
		"expired":         {"svid.pem": expiredPEM, "svid.key": expiredKey, "bundle.pem": bundlePEM, "want": []byte("expired")},
		"not-spiffe":      {"svid.pem": dnsCert, "svid.key": dnsKey, "bundle.pem": bundlePEM, "want": []byte("no URI SAN")},
		"ca-as-svid":      {"svid.pem": bundlePEM, "svid.key": pemOf("PRIVATE KEY", caKey), "bundle.pem": bundlePEM, "want": []byte("non-root path")},
	}
	leafOnly, leafKey := craftLong(t, root, func(*x509.Certificate) {})
	cas := map[string]map[string][]byte{
		"good":         {"ca.crt": bundlePEM, "ca.key": pemOf("PRIVATE KEY", caKey)},
		"missing-key":  {"ca.crt": bundlePEM, "want": []byte("ca.key: no such file")},
		"mismatched":   {"ca.crt": bundlePEM, "ca.key": otherKey, "want": []byte("does not match")},
		"not-a-ca":     {"ca.crt": leafOnly, "ca.key": leafKey, "want": []byte("not a CA certificate")},
		"garbage-cert": {"ca.crt": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "ca.key": keyPEM, "want": []byte("ca.crt")},
		"key-not-pem":  {"ca.crt": bundlePEM, "ca.key": []byte("secret"), "want": []byte("no PEM PRIVATE KEY")},
	}
	writeCases(t, "testdata/files", files)
	writeCases(t, "testdata/ca", cas)
}

func issueLong(t *testing.T, ca craftedCA) *x509svid.SVID {
	t.Helper()
	s, err := ca.IssueWithValidity(clientID, genNotBefore, genNotAfter)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func craftLong(t *testing.T, ca craftedCA, edit func(*x509.Certificate)) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), URIs: []*url.URL{clientID.URL()},
		NotBefore: genNotBefore, NotAfter: genNotAfter, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Root(), key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return pemOf("CERTIFICATE", der), pemOf("PRIVATE KEY", keyDER)
}

func writeCases(t *testing.T, dir string, cases map[string]map[string][]byte) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for name, files := range cases {
		for file, data := range files {
			p := filepath.Join(dir, name, file)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
