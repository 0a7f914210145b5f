package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/rampart-mesh/rampart/identity"
)

// FuzzParseCSR: no input panics, and an accepted CSR always verifies with an allowed key.
func FuzzParseCSR(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der := newCSR(f, key)
	f.Add(der)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\n\n-----END CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := identity.ParseCSR(data)
		if err != nil {
			return
		}
		if csr.CheckSignature() != nil || identity.CheckPublicKey(csr.PublicKey) != nil {
			t.Fatal("accepted a CSR that does not verify or has a refused key")
		}
	})
}

// FuzzParseSignResponse: the CA's answer decoder never panics and accepts only an
// SVID for the given key.
func FuzzParseSignResponse(f *testing.F) {
	ca := testCA(f)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	chain, err := ca.IssueForKey(key.Public(), clientID.String(), 0)
	if err != nil {
		f.Fatal(err)
	}
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}))
	root := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root().Raw}))
	f.Add([]byte(`{"spiffe_id":"` + clientID.String() + `","cert_chain":` + quote(cert) + `,"bundle":` + quote(root) + `}`))
	f.Add([]byte(`{"spiffe_id":"","cert_chain":"","bundle":""}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		svid, _, err := identity.ParseSignResponse(body, keyPEM)
		if err != nil {
			return
		}
		if !key.PublicKey.Equal(svid.Certificates[0].PublicKey) || svid.Certificates[0].IsCA {
			t.Fatal("accepted an SVID that is not for our key or is a CA")
		}
	})
}

func quote(s string) string {
	out := []byte{'"'}
	for _, c := range []byte(s) {
		if c == '\n' {
			out = append(out, '\\', 'n')
			continue
		}
		out = append(out, c)
	}
	return string(append(out, '"'))
}
