// Package identity provides SPIFFE identities for Rampart proxies: SPIFFE IDs of the
// form spiffe://<td>/ns/<ns>/sa/<sa>, X.509 SVID sources (a built-in CA, watched files,
// the SPIRE Workload API) and mutual-TLS configurations built on go-spiffe's
// tlsconfig. It depends on go-spiffe (and the Prometheus client) only.
//
// # IDs
//
// NewWorkloadID formats and validates an ID; ParseWorkloadID parses one and requires a
// trust domain, refusing look-alikes (other trust domains, extra segments, empty or
// upper-case names, percent-encoding, dot segments); WorkloadOf splits a verified ID
// into namespace and service account.
//
// # Sources
//
// Every source implements Source (go-spiffe's x509svid.Source and x509bundle.Source):
//
//   - NewCA / InitCA / LoadCA: the built-in CA of one trust domain, in memory or on disk
//     (ca.crt, ca.key). CA.Issue issues ECDSA P-256 SVIDs whose only SAN is the SPIFFE
//     URI, with a short lifetime.
//   - NewRotatingSource: issues an SVID for one ID from a CA and re-issues it at
//     half-life (demo, tests, single machine).
//   - NewFileSource: reads svid.pem/svid.key/bundle.pem (as written by
//     WriteSVIDFiles and `rampart ca issue`, checked by ParseSVID) and reloads them
//     when they change, keeping the last good set when a change is bad (LastError).
//   - NewCAClientSource: Rampart's cluster CA: a CSR for a fresh key, sent with the
//     pod's projected service-account token (audience CATokenAudience) to CASignPath;
//     the CA signs the token's ID only. Renewed at half-life; a failed renewal keeps
//     the current SVID and retries with backoff.
//   - NewWorkloadSource: the SPIRE agent's Workload API (socket from
//     SPIFFE_ENDPOINT_SOCKET or WorkloadOptions.Socket, optionally picking one ID);
//     it keeps the last SVID when the agent goes away.
//
// The built-in sources and WorkloadSource offer Changed, a channel closed at the next
// update, and Close.
//
// # Signing for the cluster CA
//
// ParseCSR checks a CSR's signature and key (CheckPublicKey: ECDSA P-256/P-384,
// Ed25519, RSA 2048-4096). CA.IssueForKey signs a public key for a workload ID the
// caller took from an authenticated source, never from the CSR; ParseCA and
// MarshalPEM carry the root through the CA's Secret; ServingCertificate serves the
// CA's own endpoint, so proxies need only the trust bundle to reach it.
//
// # mTLS
//
// ServerConfig accepts any SVID of its trust domain (policy decides per request);
// ClientConfig requires the server to pass an Authorizer: AllowID, AllowAnyOf or
// AllowTrustDomain. Both are TLS 1.3 only with ALPN "h2", and read certificates and
// bundles through callbacks on every handshake, so rotation needs no listener restart
// and leaves established connections alone. Resumed sessions are re-verified against
// the current bundle and authorizer. After the handshake, PeerID returns the peer's
// SPIFFE ID. Refusals wrap sentinel errors (ErrExpired, ErrUntrusted, ...), and Reason
// turns any handshake error into the label used by the handshake failure metric.
// Servers bound session tickets by their SVID's expiry, so a client with a
// ClientSessionCache never resumes with a server certificate that has expired.
//
// # Metrics
//
// NewMetrics registers SVID expiry, rotations and handshake failures by reason with a
// prometheus.Registerer; pass the *Metrics in the option structs. The TLS callbacks
// count the failures they see; call Metrics.ObserveHandshake with the error of
// tls.Conn.HandshakeContext to count the rest (no client certificate, a peer's alert).
package identity
