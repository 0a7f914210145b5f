package tlshello

import (
	"errors"
	"fmt"
	"io"
)

// DefaultMaxBytes bounds the ClientHello handshake message Read accepts: Envoy's
// TLS inspector uses the same 64 KiB. A hello with many post-quantum key shares is
// a few KiB; anything near the bound is an attack or a bug.
const DefaultMaxBytes = 64 << 10

// ExtECH is the encrypted_client_hello extension (RFC 9849, draft-ietf-tls-esni).
const ExtECH = 0xfe0d

// Errors Read returns. Callers deny on any of them.
var (
	// ErrNotTLS: the first bytes are not a TLS handshake record.
	ErrNotTLS = errors.New("tlshello: not a TLS handshake")
	// ErrTooLarge: the ClientHello is longer than the bound.
	ErrTooLarge = errors.New("tlshello: ClientHello too large")
	// ErrMalformed: a length, type or value that a correct client never sends.
	ErrMalformed = errors.New("tlshello: malformed ClientHello")
)

// Hello is what the proxy needs from a ClientHello.
type Hello struct {
	// ServerName is the host_name of the server_name extension, lower-cased and
	// without its trailing dot (the form policy compares); "" when the client
	// sent none.
	ServerName string
	// IPLiteral is set when ServerName is an IPv4 address in any form a resolver
	// accepts ("10.0.0.1", "10.1", "0x7f.1": a name whose last label is numeric).
	// RFC 6066 forbids it; the proxy never treats it as a name.
	IPLiteral bool
	// ECH is set when the hello carries encrypted_client_hello (0xfe0d): the real
	// server name is encrypted and ServerName is only the outer, public name.
	ECH bool
}

// Read reads one ClientHello from r: records until the handshake message is
// complete. raw holds every byte read, to be forwarded before anything else; it is
// returned even with an error. maxBytes ≤ 0 means DefaultMaxBytes; it bounds the
// handshake message, and raw (message plus record headers) is bounded by
// 2×maxBytes, so a client cutting its hello into tiny records cannot make Read
// buffer more. Read never reads past the last record of the hello. r should carry
// a deadline: a client that sends a partial hello and waits blocks Read.
func Read(r io.Reader, maxBytes int) (raw []byte, h Hello, err error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	rr := recordReader{r: r, max: maxBytes}
	msg, err := rr.handshake()
	if err != nil {
		return rr.raw, Hello{}, err
	}
	h, err = Parse(msg)
	return rr.raw, h, err
}

// recordReader reassembles the first handshake message from TLS records.
type recordReader struct {
	r   io.Reader
	max int
	raw []byte // every byte read
	msg []byte // handshake bytes so far
}

// recordHeader is type(1) version(2) length(2); TLS plaintext records carry at
// most 2^14 bytes.
const (
	recordHeader    = 5
	maxRecord       = 1 << 14
	handshakeRecord = 0x16
	clientHelloType = 1
	handshakeHeader = 4
	tlsMajorVersion = 3
)

func (rr *recordReader) handshake() ([]byte, error) {
	for first := true; ; first = false {
		if done, err := rr.complete(); done || err != nil {
			return rr.msg[handshakeHeader:], err
		}
		hdr, err := rr.read(recordHeader)
		if err != nil {
			if first && errors.Is(err, errShort) && len(rr.raw) > 0 && rr.raw[0] != handshakeRecord {
				return nil, ErrNotTLS
			}
			return nil, err
		}
		if hdr[0] != handshakeRecord || hdr[1] != tlsMajorVersion {
			if first {
				return nil, ErrNotTLS
			}
			return nil, fmt.Errorf("%w: record type %d before the hello ended", ErrMalformed, hdr[0])
		}
		n := int(hdr[3])<<8 | int(hdr[4])
		if n == 0 || n > maxRecord {
			return nil, fmt.Errorf("%w: record length %d", ErrMalformed, n)
		}
		if len(rr.msg)+n > rr.max+handshakeHeader || len(rr.raw)+n > 2*rr.max {
			return nil, ErrTooLarge
		}
		frag, err := rr.read(n)
		if err != nil {
			return nil, err
		}
		rr.msg = append(rr.msg, frag...)
	}
}

// complete reports whether msg holds the whole first handshake message, refusing
// a message that is not a ClientHello or is longer than the bound.
func (rr *recordReader) complete() (bool, error) {
	if len(rr.msg) < handshakeHeader {
		return false, nil
	}
	if rr.msg[0] != clientHelloType {
		return false, fmt.Errorf("%w: handshake type %d", ErrMalformed, rr.msg[0])
	}
	n := int(rr.msg[1])<<16 | int(rr.msg[2])<<8 | int(rr.msg[3])
	if n > rr.max {
		return false, ErrTooLarge
	}
	switch have := len(rr.msg) - handshakeHeader; {
	case have == n:
		return true, nil
	case have > n:
		// Bytes of a second handshake message in the hello's records: TLS 1.3
		// forbids it, and no client sends it.
		return false, fmt.Errorf("%w: data after the ClientHello", ErrMalformed)
	}
	return false, nil
}

var errShort = errors.New("short read")

// read reads exactly n bytes, keeping them in raw.
func (rr *recordReader) read(n int) ([]byte, error) {
	start := len(rr.raw)
	rr.raw = append(rr.raw, make([]byte, n)...)
	got, err := io.ReadFull(rr.r, rr.raw[start:])
	rr.raw = rr.raw[:start+got]
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrMalformed, errShort, err)
	}
	return rr.raw[start:], nil
}
