package egress

import "bufio"

type proto int

const (
	protoTCP proto = iota
	protoTLS
	protoHTTP
)

// maxMethod bounds how far sniff looks for the space after an HTTP method.
const maxMethod = 20

// sniff peeks at the app's first bytes: a TLS handshake record, an HTTP/1 request
// line (an upper-case token and a space), or anything else. A read error or the
// hello timeout (the app waits for the server to speak) is anything else.
func sniff(br *bufio.Reader) proto {
	b, err := br.Peek(1)
	if err != nil {
		return protoTCP
	}
	if b[0] == 0x16 {
		return protoTLS
	}
	for n := 1; n <= maxMethod+1; n++ {
		b, err := br.Peek(n)
		if err != nil {
			return protoTCP
		}
		switch c := b[n-1]; {
		case c == ' ' && n > 1:
			return protoHTTP
		case c < 'A' || c > 'Z':
			return protoTCP
		}
	}
	return protoTCP
}
