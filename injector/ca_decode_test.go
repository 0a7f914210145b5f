package injector_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/injector"
)

func csrDER(t testing.TB) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestDecodeSignRequest: headers and bodies the CA refuses before asking the API
// server anything, each with its reason.
func TestDecodeSignRequest(t *testing.T) {
	good := csrDER(t)
	goodPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: good})
	for _, tt := range []struct {
		name, ct, auth string
		body           []byte
		want           string // reason prefix, "" = accepted
	}{
		{"der", "application/pkcs10", "Bearer a.b.c", good, ""},
		{"pem with parameters", "application/pkcs10; charset=binary", "bearer a.b.c", goodPEM, ""},
		{"json", "application/json", "Bearer a.b.c", good, "content-type"},
		{"no token", "application/pkcs10", "", good, "no-token"},
		{"basic", "application/pkcs10", "Basic dXNlcg==", good, "no-token"},
		{"token with a space", "application/pkcs10", "Bearer a b", good, "no-token"},
		{"token with a newline", "application/pkcs10", "Bearer a\nb", good, "no-token"},
		{"huge token", "application/pkcs10", "Bearer " + strings.Repeat("a", 9000), good, "no-token"},
		{"empty body", "application/pkcs10", "Bearer a.b.c", nil, "malformed-csr"},
		{"private key pem", "application/pkcs10", "Bearer a.b.c", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: good}), "malformed-csr"},
		{"bad signature", "application/pkcs10", "Bearer a.b.c", flipLast(good), "bad-csr-signature"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := injector.DecodeSignRequest(tt.ct, tt.auth, tt.body)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "" && req.Token != "a.b.c":
				t.Fatalf("token %q", req.Token)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want+":")):
				t.Fatalf("err %v, want reason %s", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "a.b.c"):
				t.Fatalf("the refusal repeats the token: %v", err)
			}
		})
	}
}

func flipLast(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)-1] ^= 0xff
	return out
}

// FuzzDecodeSignRequest: no header or body panics the decoder, an accepted
// request has a CSR that verifies, and a refusal never echoes the token.
func FuzzDecodeSignRequest(f *testing.F) {
	good := csrDER(f)
	f.Add("application/pkcs10", "Bearer a.b.c", good)
	f.Add("application/pkcs10", "Bearer secret-token", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: good}))
	f.Add("application/pkcs10;x=\"", "Bearer  ", []byte("-----BEGIN CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, ct, auth string, body []byte) {
		req, err := injector.DecodeSignRequest(ct, auth, body)
		if err != nil {
			_, tok, _ := strings.Cut(auth, " ")
			echoedElsewhere := strings.Contains(ct, tok) || strings.Contains(string(body), tok)
			if len(tok) >= 8 && !echoedElsewhere && strings.Contains(err.Error(), tok) {
				t.Fatalf("refusal echoes the token: %v", err)
			}
			return
		}
		if req.CSR.CheckSignature() != nil || req.Token == "" {
			t.Fatal("accepted a request without a verifying CSR and a token")
		}
	})
}
