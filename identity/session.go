package identity

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// ticketStamp prefixes the SessionState.Extra entry that bounds a session ticket. A
// constant, so no caller can change what tickets are checked against.
const ticketStamp = "rampart/svid-not-after/"

// resumeMargin is how long before a certificate in the session expires resumption
// stops: the handshake that follows must still find it valid.
const resumeMargin = time.Second

// boundTickets makes the server stamp each session ticket with the earlier expiry of
// its current SVID and the client's certificate, and refuse to resume a ticket within
// resumeMargin of it (the client then does a full handshake with its current SVID). Go
// clients under tlsconfig skip their own expiry check on resumption
// (InsecureSkipVerify), so without this a ticket would outlive the server's SVID; and
// a resumed session re-verifies the client's original certificate, so a ticket that
// outlived it would fail the handshake instead of falling back.
func boundTickets(cfg *tls.Config, src x509svid.Source) {
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		notAfter := time.Now() // no SVID: a ticket that is never resumed
		if svid, err := src.GetX509SVID(); err == nil {
			notAfter = svid.Certificates[0].NotAfter
		}
		if len(cs.PeerCertificates) > 0 && cs.PeerCertificates[0].NotAfter.Before(notAfter) {
			notAfter = cs.PeerCertificates[0].NotAfter
		}
		ss.Extra = append(ss.Extra, binary.BigEndian.AppendUint64([]byte(ticketStamp), uint64(notAfter.Unix())))
		return cfg.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, err
		}
		if !stampValid(ss.Extra, time.Now().Add(resumeMargin)) {
			return nil, nil // full handshake instead
		}
		return ss, nil
	}
}

func stampValid(extra [][]byte, now time.Time) bool {
	for _, e := range extra {
		if rest, ok := bytes.CutPrefix(e, []byte(ticketStamp)); ok && len(rest) == 8 {
			return now.Unix() < int64(binary.BigEndian.Uint64(rest))
		}
	}
	return false
}
