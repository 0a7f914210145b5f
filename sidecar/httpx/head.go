package httpx

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseRequestLine checks "METHOD SP target SP HTTP/1.x" with single spaces.
func parseRequestLine(l []byte) (*Request, string, error) {
	parts := bytes.Split(l, []byte(" "))
	if len(parts) != 3 {
		return nil, "", badRequest("malformed request line")
	}
	method, target, proto := string(parts[0]), string(parts[1]), string(parts[2])
	if err := CheckMethod(method); err != nil {
		return nil, "", err
	}
	switch proto {
	case "HTTP/1.1", "HTTP/1.0":
	case "HTTP/2.0", "HTTP/0.9", "HTTP/3.0":
		return nil, "", errorf(http.StatusHTTPVersionNotSupported, "version %s", proto)
	default:
		return nil, "", badRequest("malformed HTTP version")
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f {
			return nil, "", badRequest("byte 0x%02x in request target", c)
		}
	}
	return &Request{Method: method, Proto: proto}, target, nil
}

// CheckMethod accepts upper-case tokens only: "get" and "GET" are different methods
// to HTTP but some applications fold them, so a policy on "GET" could be bypassed.
// CONNECT is refused (405): a tunnel inside the tunnel would escape parsing.
func CheckMethod(m string) error {
	if m == "" || len(m) > 32 {
		return badRequest("method length")
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return badRequest("method %q is not an upper-case token", m)
		}
	}
	if m == http.MethodConnect {
		return errorf(http.StatusMethodNotAllowed, "CONNECT inside the tunnel")
	}
	return nil
}

// head holds the fields the proxy interprets; regular are forwarded.
type head struct {
	host, contentLength, transferEncoding []string
	connection                            []string
	upgrade, expect                       []string
	regular                               []Field
}

// hopByHop are removed from what is forwarded (RFC 9110 7.6.1) or regenerated.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true, "http2-settings": true,
	"content-length": true, "host": true, "expect": true,
}

// classify collects the fields the proxy interprets and keeps in regular the ones it
// forwards: neither in hop nor named by a Connection field.
func classify(fields []Field, hop map[string]bool) *head {
	h := &head{}
	var buf [64]byte
	for _, f := range fields {
		switch string(lowerName(&buf, f.Name)) {
		case "host":
			h.host = append(h.host, f.Value)
		case "content-length":
			h.contentLength = append(h.contentLength, f.Value)
		case "transfer-encoding":
			h.transferEncoding = append(h.transferEncoding, f.Value)
		case "connection":
			h.connection = append(h.connection, splitList(f.Value)...)
		case "upgrade":
			h.upgrade = append(h.upgrade, f.Value)
		case "expect":
			h.expect = append(h.expect, f.Value)
		}
	}
	for _, f := range fields {
		k := lowerName(&buf, f.Name)
		if !hop[string(k)] && !h.listed(k) {
			if h.regular == nil {
				h.regular = make([]Field, 0, len(fields)) // one allocation, not one per doubling
			}
			h.regular = append(h.regular, f)
		}
	}
	return h
}

// listed reports whether a Connection field names the lower-case field name k. A
// linear scan: there are rarely more than two tokens, and a set was an allocation
// per message.
func (h *head) listed(k []byte) bool {
	for _, c := range h.connection {
		if c == string(k) {
			return true
		}
	}
	return false
}

// lowerName is strings.ToLower(name) as bytes, lowered into buf when name is short
// ASCII (every valid field name): a lowered copy per field was an allocation per
// header line. The result is valid until the next call with the same buf.
func lowerName(buf *[64]byte, name string) []byte {
	if len(name) > len(buf) {
		return []byte(strings.ToLower(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= utf8.RuneSelf {
			return []byte(strings.ToLower(name))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(name)]
}

func splitList(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.ToLower(strings.Trim(p, " \t")); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// applyFraming decides the body length and refuses every ambiguous combination.
func applyFraming(req *Request, h *head, maxBody int64) error {
	switch {
	case len(h.transferEncoding) > 0 && len(h.contentLength) > 0:
		return badRequest("Content-Length with Transfer-Encoding")
	case len(h.transferEncoding) > 0:
		if len(h.transferEncoding) != 1 || !strings.EqualFold(h.transferEncoding[0], "chunked") {
			return errorf(http.StatusNotImplemented, "transfer coding other than a lone chunked")
		}
		if req.Proto != "HTTP/1.1" {
			return badRequest("Transfer-Encoding in HTTP/1.0")
		}
		req.ContentLength = -1
		return nil
	case len(h.contentLength) > 0:
		n, err := contentLength(h.contentLength)
		if err != nil {
			return err
		}
		if maxBody >= 0 && n > maxBody {
			return errorf(http.StatusRequestEntityTooLarge, "body of %d bytes", n)
		}
		req.ContentLength = n
	}
	return nil
}

// contentLength accepts repeated Content-Length values only when all are equal.
func contentLength(values []string) (int64, error) {
	var n int64 = -1
	for _, v := range values {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.Trim(p, " \t")
			if p == "" || len(p) > 18 || strings.Trim(p, "0123456789") != "" {
				return 0, badRequest("invalid Content-Length")
			}
			m, _ := strconv.ParseInt(p, 10, 64)
			if n >= 0 && m != n {
				return 0, badRequest("differing Content-Length values")
			}
			n = m
		}
	}
	return n, nil
}

// applyTarget normalizes the target and the host and refuses a Host field that
// disagrees with an absolute-form target.
func applyTarget(req *Request, target string, hosts []string, cfg Config) error {
	if len(hosts) != 1 {
		return badRequest("want exactly one Host field, got %d", len(hosts))
	}
	host, err := NormalizeHost(hosts[0], cfg.DefaultPort)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(target, "/") {
		authority, rest, err := splitAbsolute(target)
		if err != nil {
			return err
		}
		abs, err := NormalizeHost(authority, cfg.DefaultPort)
		if err != nil {
			return err
		}
		if abs != host {
			return badRequest("absolute-form authority %q differs from Host %q", abs, host)
		}
		target = rest
	}
	req.Host = host
	req.Path, req.Query, err = NormalizeTarget(target, cfg.Slashes)
	return err
}

// splitAbsolute splits "http://authority/rest" (scheme case-insensitive).
func splitAbsolute(t string) (authority, rest string, err error) {
	scheme, after, ok := strings.Cut(t, "://")
	if !ok || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return "", "", badRequest("request target is neither origin- nor absolute-form")
	}
	end := strings.IndexAny(after, "/?#")
	if end < 0 {
		return after, "/", nil
	}
	authority, rest = after[:end], after[end:]
	if rest[0] != '/' {
		rest = "/" + rest
	}
	return authority, rest, nil
}

// applyConnection sets Close, Upgrade and Expect100.
func applyConnection(req *Request, h *head) {
	keepAlive := false
	upgrade := false
	for _, c := range h.connection {
		switch c {
		case "close":
			req.Close = true
		case "keep-alive":
			keepAlive = true
		case "upgrade":
			upgrade = true
		}
	}
	if req.Proto == "HTTP/1.0" && !keepAlive {
		req.Close = true
	}
	if upgrade && len(h.upgrade) == 1 && req.Proto == "HTTP/1.1" && !upgradesToH2C(h.upgrade[0]) {
		req.Upgrade = h.upgrade[0]
	}
	for _, e := range h.expect {
		if strings.EqualFold(e, "100-continue") {
			req.Expect100 = true
		}
	}
	req.Header = h.regular
}

// upgradesToH2C is true for an HTTP/2 cleartext upgrade, which the proxy never
// forwards: after it the app would speak HTTP/2 that the proxy does not parse.
func upgradesToH2C(v string) bool {
	for _, p := range splitList(v) {
		if strings.HasPrefix(p, "h2") {
			return true
		}
	}
	return false
}
