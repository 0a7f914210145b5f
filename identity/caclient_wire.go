package identity

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// The cluster CA's wire protocol. The server (injector.CAServer) restates these
// values, since neither package may import the other; a change is a protocol change.
const (
	// CASignPath is the CA's signing endpoint: POST a CSR there.
	CASignPath = "/v1/sign"
	// CSRContentType is the request body's type: a PKCS#10 CSR, PEM or DER.
	CSRContentType = "application/pkcs10"
	// CATokenAudience is the audience of the projected service-account token sent as
	// "Authorization: Bearer <token>".
	CATokenAudience = "rampart"
	// maxAnswerBytes bounds the CA's answer: a chain and a bundle of a few roots.
	maxAnswerBytes = 64 << 10
)

// SignResponse is the CA's JSON answer to a CSR it signed.
type SignResponse struct {
	// SPIFFEID is the ID the CA signed: the one of the token, never one of the CSR.
	SPIFFEID string `json:"spiffe_id"`
	// CertChain is the SVID, PEM, leaf first.
	CertChain string `json:"cert_chain"`
	// Bundle holds the trust domain's roots, PEM.
	Bundle string `json:"bundle"`
}

// requestSVID sends one CSR for a fresh ECDSA P-256 key and checks the answer.
func requestSVID(ctx context.Context, client *http.Client, url, tokenFile string) (*x509svid.SVID, *x509bundle.Bundle, error) {
	token, err := readToken(tokenFile)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	csr, err := NewCSR(key)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(csr))
	if err != nil {
		return nil, nil, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", CSRContentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("send CSR: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("CA refused the CSR: %s: %s", resp.Status, strings.TrimSpace(string(body[:min(len(body), 512)])))
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode key: %w", err)
	}
	return ParseSignResponse(body, pemBlock("PRIVATE KEY", keyDER))
}

// ParseSignResponse decodes the CA's answer and checks it with ParseSVID against the
// key that signed the CSR (PKCS#8 PEM): the chain must be an X509-SVID for that key
// and verify against the answer's bundle.
func ParseSignResponse(body, keyPEM []byte) (*x509svid.SVID, *x509bundle.Bundle, error) {
	if len(body) > maxAnswerBytes {
		return nil, nil, fmt.Errorf("answer larger than %d bytes", maxAnswerBytes)
	}
	var ans SignResponse
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, nil, fmt.Errorf("decode answer: %w", err)
	}
	svid, bundle, err := ParseSVID([]byte(ans.CertChain), keyPEM, []byte(ans.Bundle))
	if err != nil {
		return nil, nil, fmt.Errorf("answer: %w", err)
	}
	if svid.ID.String() != ans.SPIFFEID {
		return nil, nil, fmt.Errorf("answer names %q but the certificate is for %s", ans.SPIFFEID, svid.ID)
	}
	// A CA leaf never gets here: x509svid.Parse refuses it.
	return svid, bundle, nil
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("service-account token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, " \r\n\t") {
		return "", fmt.Errorf("service-account token %s: empty or not one token", path)
	}
	return tok, nil
}
