package identity

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// ALPN is the only application protocol spoken between proxies (HTTP/2 CONNECT).
const ALPN = "h2"

// Authorizer decides whether a verified peer SPIFFE ID may connect. It returns an
// error wrapping ErrUnauthorizedID or ErrWrongTrustDomain to refuse.
type Authorizer func(peer spiffeid.ID) error

// AllowID authorizes exactly id.
func AllowID(id spiffeid.ID) Authorizer {
	return func(peer spiffeid.ID) error {
		if peer != id {
			return fmt.Errorf("%w: %s, want %s", ErrUnauthorizedID, peer, id)
		}
		return nil
	}
}

// AllowAnyOf authorizes any ID of the set.
func AllowAnyOf(ids ...spiffeid.ID) Authorizer {
	set := make(map[spiffeid.ID]struct{}, len(ids))
	for _, id := range ids {
		set[id] = struct{}{}
	}
	return func(peer spiffeid.ID) error {
		if _, ok := set[peer]; !ok {
			return fmt.Errorf("%w: %s is not one of the %d allowed IDs", ErrUnauthorizedID, peer, len(set))
		}
		return nil
	}
}

// AllowTrustDomain authorizes any member of td.
func AllowTrustDomain(td spiffeid.TrustDomain) Authorizer {
	return func(peer spiffeid.ID) error {
		if !peer.MemberOf(td) {
			return fmt.Errorf("%w: %s is not in %q", ErrWrongTrustDomain, peer, td)
		}
		return nil
	}
}

// TLSOptions tune ServerConfig and ClientConfig. The zero value is usable.
type TLSOptions struct {
	// Metrics, when set, counts refused peers by reason.
	Metrics *Metrics
}

// ServerConfig returns a TLS 1.3, ALPN h2 server config that requires a client SVID
// from trust domain td, verified against src's bundle; policy decides per request
// later, reading the peer with PeerID. Certificates come from src on every handshake.
// Callers may set other fields (e.g. for HTTP/2) but must keep the callbacks set here:
// GetCertificate, VerifyPeerCertificate, VerifyConnection, WrapSession, UnwrapSession.
func ServerConfig(src Source, td spiffeid.TrustDomain, opts TLSOptions) *tls.Config {
	cfg := baseConfig()
	allow := AllowTrustDomain(td)
	tlsconfig.HookMTLSServerConfig(cfg, src, src, adapt(allow))
	harden(cfg, src, allow, sideServer, opts.Metrics)
	boundTickets(cfg, src)
	return cfg
}

// ClientConfig returns a TLS 1.3, ALPN h2 client config presenting src's SVID and
// accepting only a server whose SVID verifies against src's bundle and passes allow
// (a nil allow refuses every server). Set ClientSessionCache to resume sessions; keep
// GetClientCertificate, VerifyPeerCertificate and VerifyConnection as set here.
func ClientConfig(src Source, allow Authorizer, opts TLSOptions) *tls.Config {
	cfg := baseConfig()
	if allow == nil {
		allow = denyAll
	}
	tlsconfig.HookMTLSClientConfig(cfg, src, src, adapt(allow))
	harden(cfg, src, allow, sideClient, opts.Metrics)
	return cfg
}

func baseConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		MaxVersion: tls.VersionTLS13,
		NextProtos: []string{ALPN},
	}
}

func denyAll(peer spiffeid.ID) error {
	return fmt.Errorf("%w: %s (no authorizer configured)", ErrUnauthorizedID, peer)
}

func adapt(allow Authorizer) tlsconfig.Authorizer {
	return func(id spiffeid.ID, _ [][]*x509.Certificate) error { return allow(id) }
}

// harden classifies and counts verification failures and adds VerifyConnection,
// which Go runs on every handshake including resumed ones (VerifyPeerCertificate is
// skipped on resumption): it enforces ALPN h2 and re-verifies a resumed peer's chain
// against the current bundle and authorizer, so a ticket never outlives trust.
func harden(cfg *tls.Config, src Source, allow Authorizer, side string, m *Metrics) {
	verify := cfg.VerifyPeerCertificate
	cfg.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
		if err := verify(raw, chains); err != nil {
			err = classify(raw, err)
			m.handshakeFailed(side, err)
			return err
		}
		return nil
	}
	if get := cfg.GetCertificate; get != nil {
		cfg.GetCertificate = func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert, err := get(hi)
			return cert, localFailure(side, m, err)
		}
	}
	if get := cfg.GetClientCertificate; get != nil {
		cfg.GetClientCertificate = func(ri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, err := get(ri)
			return cert, localFailure(side, m, err)
		}
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		err := verifyConnection(cs, src, allow, side)
		if err != nil {
			m.handshakeFailed(side, err)
		}
		return err
	}
}

// localFailure marks and counts a source that cannot give us an SVID; foreign
// sources (the Workload API) do not wrap ErrNoSVID themselves.
func localFailure(side string, m *Metrics, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%w: %w", ErrNoSVID, err)
	m.handshakeFailed(side, err)
	return err
}

func verifyConnection(cs tls.ConnectionState, src Source, allow Authorizer, side string) error {
	if cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != ALPN {
		return fmt.Errorf("%w: version %#x, ALPN %q", ErrProtocol, cs.Version, cs.NegotiatedProtocol)
	}
	if !cs.DidResume {
		return nil // VerifyPeerCertificate already checked this handshake's chain.
	}
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: resumed session without one", ErrNoPeerCertificate)
	}
	// Go servers refuse to resume with an expired client certificate, and our
	// servers refuse tickets past their SVID's expiry (boundTickets), so a client
	// checks the resumed chain as of when the leaf was still valid: trust and
	// authorization are current, expiry is the server's job.
	at := time.Now()
	if leaf := cs.PeerCertificates[0]; side == sideClient && at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	id, _, err := x509svid.Verify(cs.PeerCertificates, src, x509svid.WithTime(at))
	if err == nil {
		err = allow(id)
	}
	if err != nil {
		raw := make([][]byte, len(cs.PeerCertificates))
		for i, c := range cs.PeerCertificates {
			raw[i] = c.Raw
		}
		return classify(raw, err)
	}
	return nil
}
