package httpx

import (
	"net/netip"
	"strconv"
	"strings"
)

// NormalizeHost lower-cases a Host value or HTTP/2 :authority, drops the trailing
// dot of a name and the port when it is defaultPort, and refuses anything that is not
// a plain name, IPv4 address or bracketed IPv6 address with an optional port (no
// userinfo, no escapes, no whitespace).
func NormalizeHost(h, defaultPort string) (string, error) {
	if h == "" {
		return "", badRequest("empty host")
	}
	name, port, err := splitHostPort(strings.ToLower(h))
	if err != nil {
		return "", err
	}
	if port == defaultPort {
		port = ""
	}
	if port != "" {
		return name + ":" + port, nil
	}
	return name, nil
}

func splitHostPort(h string) (name, port string, err error) {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", badRequest("unterminated IPv6 host")
		}
		if _, err := netip.ParseAddr(h[1:end]); err != nil {
			return "", "", badRequest("invalid IPv6 host")
		}
		name, rest := h[:end+1], h[end+1:]
		if rest == "" {
			return name, "", nil
		}
		if rest[0] != ':' {
			return "", "", badRequest("junk after IPv6 host")
		}
		port, err := checkPort(rest[1:])
		return name, port, err
	}
	name, port, _ = strings.Cut(h, ":")
	if port, err = checkPort(port); err != nil {
		return "", "", err
	}
	name, err = checkRegName(name)
	return name, port, err
}

func checkPort(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 || p[0] == '0' && len(p) > 1 {
		return "", badRequest("invalid port in host")
	}
	return p, nil
}

// checkRegName accepts DNS-like names and IPv4 literals and drops one trailing dot.
func checkRegName(n string) (string, error) {
	n = strings.TrimSuffix(n, ".")
	if n == "" || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".") || strings.Contains(n, "..") {
		return "", badRequest("invalid host name")
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", badRequest("byte 0x%02x not allowed in host", c)
		}
	}
	return n, nil
}
