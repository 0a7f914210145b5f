package injector

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"mime"
	"strings"
)

// The cluster CA's wire protocol, restated from identity (CASignPath,
// CSRContentType, CATokenAudience): the two leaves may not import each other.
const (
	// CASignPath is where proxies POST their CSR.
	CASignPath = "/v1/sign"
	// csrContentType is the request body: a PKCS#10 CSR, PEM or DER.
	csrContentType = "application/pkcs10"
	// CATokenAudience is the audience the proxy's projected token must carry.
	CATokenAudience = "rampart"
	// maxTokenBytes bounds a bearer token; projected tokens are about 1 KiB.
	maxTokenBytes = 8 << 10
)

// Refusal reasons: the "reason" label of rampart_ca_requests_total and the first
// word of a refusal's body.
const (
	reasonMethod        = "method"
	reasonContentType   = "content-type"
	reasonTooLarge      = "too-large"
	reasonNoToken       = "no-token"
	reasonMalformedCSR  = "malformed-csr"
	reasonCSRSignature  = "bad-csr-signature"
	reasonKey           = "bad-key"
	reasonUnauthent     = "token-unauthenticated"
	reasonExpired       = "token-expired"
	reasonAudience      = "token-audience"
	reasonNotSA         = "token-not-service-account"
	reasonRateLimited   = "rate-limited"
	reasonBusy          = "busy"
	reasonReviewFailed  = "review-failed"
	reasonSignFailed    = "sign-failed"
	resultSigned        = "signed"
	maxRSABits, minRSAB = 4096, 2048
)

// refusal is a request the CA turns down: an HTTP status, a metric reason and a
// message safe to log and to send back (it never holds the token).
type refusal struct {
	status int
	reason string
	msg    string
}

func (r *refusal) Error() string { return r.reason + ": " + r.msg }

func refuse(status int, reason, format string, args ...any) *refusal {
	return &refusal{status: status, reason: reason, msg: fmt.Sprintf(format, args...)}
}

// SignRequest is a decoded request: the bearer token and a CSR whose signature
// verifies with its own, allowed, public key. Nothing else of the CSR is used.
type SignRequest struct {
	Token string
	CSR   *x509.CertificateRequest
}

// DecodeSignRequest checks the Content-Type and Authorization headers and parses
// body as a PEM or DER CSR signed by its own key (ECDSA P-256/P-384, Ed25519 or RSA
// 2048-4096 bits). The error is a *refusal naming the reason.
func DecodeSignRequest(contentType, authorization string, body []byte) (SignRequest, error) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != csrContentType {
		return SignRequest{}, refuse(415, reasonContentType, "content type %q, want %s", contentType, csrContentType)
	}
	token, ok := bearer(authorization)
	if !ok {
		return SignRequest{}, refuse(401, reasonNoToken, "want Authorization: Bearer <service-account token of audience %q>", CATokenAudience)
	}
	csr, err := parseCSR(body)
	if err != nil {
		return SignRequest{}, err
	}
	return SignRequest{Token: token, CSR: csr}, nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header; a token
// is one run of visible ASCII (a JWT), bounded in length.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || tok == "" || len(tok) > maxTokenBytes {
		return "", false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return "", false
		}
	}
	return tok, true
}

func parseCSR(body []byte) (*x509.CertificateRequest, error) {
	der := body
	if block, _ := pem.Decode(body); block != nil {
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, refuse(400, reasonMalformedCSR, "PEM block %q, want CERTIFICATE REQUEST", block.Type)
		}
		der = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, refuse(400, reasonMalformedCSR, "%v", err)
	}
	if err := checkKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, refuse(400, reasonCSRSignature, "CSR not signed by its own key: %v", err)
	}
	return csr, nil
}

// checkKey is identity.CheckPublicKey's policy, checked here too so a refusal gets
// its own reason before anything is signed.
func checkKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
		return refuse(400, reasonKey, "ECDSA curve %s, want P-256 or P-384", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if b := k.N.BitLen(); b < minRSAB || b > maxRSABits {
			return refuse(400, reasonKey, "RSA key of %d bits, want %d to %d", b, minRSAB, maxRSABits)
		}
		return nil
	}
	return refuse(400, reasonKey, "key type %T not allowed", pub)
}
