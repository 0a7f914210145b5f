// Package tlshello reads a TLS ClientHello off a connection without terminating
// TLS, so the outbound proxy can decide egress by the server name the client asked
// for and then forward the very bytes it read, unchanged.
//
// Read is bounded and strict: at most MaxBytes of handshake data (a longer
// ClientHello is refused, never half-parsed), handshake messages reassembled
// across TLS records however the client split them (and across TCP segments:
// records are read with io.ReadFull), no other record type before the ClientHello
// is complete, and every length checked against its container. A hello that names
// two host_name entries, repeats an extension, or carries a server name that is not
// a plain DNS name is malformed: the proxy denies what two TLS stacks could read
// differently. Encrypted Client Hello (extension 0xfe0d) is reported, since the
// outer server_name is then only the client-facing server's public name.
//
// What the bytes are not (HTTP, SSH, garbage) is ErrNotTLS, decided from the first
// record header alone.
package tlshello
