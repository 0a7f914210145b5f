package identity

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// PeerID returns the SPIFFE ID of the peer of a completed handshake made with
// ServerConfig or ClientConfig, whose callbacks have already verified the chain and
// authorized the ID (also on resumed sessions). On a connection from any other config
// the result is unverified and must not be trusted.
func PeerID(cs tls.ConnectionState) (spiffeid.ID, error) {
	if !cs.HandshakeComplete {
		return spiffeid.ID{}, errors.New("peer ID: handshake not complete")
	}
	if len(cs.PeerCertificates) == 0 {
		return spiffeid.ID{}, fmt.Errorf("peer ID: %w", ErrNoPeerCertificate)
	}
	id, err := x509svid.IDFromCert(cs.PeerCertificates[0])
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("peer ID: %w: %w", ErrNotSPIFFE, err)
	}
	return id, nil
}
