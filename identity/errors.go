package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// Outcomes of peer verification that callers and metrics branch on (errors.Is).
var (
	ErrNoPeerCertificate = errors.New("peer sent no certificate")
	ErrNotSPIFFE         = errors.New("peer certificate is not an X509-SVID (one SPIFFE URI SAN, not a CA)")
	ErrWrongTrustDomain  = errors.New("wrong trust domain")
	ErrUntrusted         = errors.New("peer certificate not signed by a trusted authority")
	ErrExpired           = errors.New("peer certificate expired")
	ErrNotYetValid       = errors.New("peer certificate not yet valid")
	ErrUnauthorizedID    = errors.New("peer SPIFFE ID not authorized")
	ErrProtocol          = errors.New("peer did not negotiate TLS 1.3 with ALPN h2")
)

// reasons maps each outcome to its metric label, in the order Reason checks them.
var reasons = []struct {
	err   error
	label string
}{
	{ErrNoSVID, "no_local_svid"},
	{ErrNoPeerCertificate, "no_peer_certificate"},
	{ErrNotSPIFFE, "not_spiffe"},
	{ErrWrongTrustDomain, "wrong_trust_domain"},
	{ErrUntrusted, "untrusted"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrUnauthorizedID, "unauthorized_id"},
	{ErrProtocol, "protocol"},
}

// classify turns a go-spiffe verification error into one of the sentinels above, so
// a refused handshake says why in terms an operator can act on.
func classify(raw [][]byte, err error) error {
	if len(raw) == 0 {
		return fmt.Errorf("%w: %w", ErrNoPeerCertificate, err)
	}
	leaf, perr := x509.ParseCertificate(raw[0])
	if perr != nil {
		return fmt.Errorf("%w: %w", ErrNotSPIFFE, err)
	}
	id, ierr := x509svid.IDFromCert(leaf)
	if ierr != nil || leaf.IsCA || leaf.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0 {
		return fmt.Errorf("%w: %w", ErrNotSPIFFE, err)
	}
	var invalid x509.CertificateInvalidError
	kind := ErrUntrusted
	switch {
	case errors.Is(err, ErrWrongTrustDomain), errors.Is(err, ErrUnauthorizedID):
		return err // our authorizers and sources already name the ID
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired && time.Now().Before(invalid.Cert.NotBefore):
		kind = ErrNotYetValid
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		kind = ErrExpired
	}
	return fmt.Errorf("%w: peer %s: %w", kind, id, err)
}

// Reason returns a short label for a handshake error (the handshake_failures metric's
// reason): one of no_local_svid, no_peer_certificate, not_spiffe, wrong_trust_domain,
// untrusted, expired, not_yet_valid, unauthorized_id, protocol, remote_rejected,
// timeout or other.
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return transportReason(err)
}

// transportReason labels handshake errors that did not come from our callbacks.
func transportReason(err error) string {
	var netErr interface{ Timeout() bool }
	var opErr *net.OpError
	var recErr tls.RecordHeaderError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return "remote_rejected"
	case strings.Contains(err.Error(), "didn't provide a certificate"):
		return "no_peer_certificate"
	case errors.As(err, &recErr), strings.Contains(err.Error(), "protocol"), strings.Contains(err.Error(), "version"):
		return "protocol"
	}
	return "other"
}
