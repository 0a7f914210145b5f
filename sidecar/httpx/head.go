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
	sp1 := bytes.IndexByte(l, ' ')
	sp2 := sp1 + 1 + bytes.IndexByte(l[sp1+1:], ' ')
	if sp1 < 0 || sp2 <= sp1 || bytes.IndexByte(l[sp2+1:], ' ') >= 0 {
		return nil, "", badRequest("malformed request line")
	}
	method, target, proto := internMethod(l[:sp1]), l[sp1+1:sp2], l[sp2+1:]
	if err := CheckMethod(method); err != nil {
		return nil, "", err
	}
	req := &Request{Method: method}
	switch string(proto) {
	case "HTTP/1.1":
		req.Proto = "HTTP/1.1"
	case "HTTP/1.0":
		req.Proto = "HTTP/1.0"
	case "HTTP/2.0", "HTTP/0.9", "HTTP/3.0":
		return nil, "", errorf(http.StatusHTTPVersionNotSupported, "version %s", proto)
	default:
		return nil, "", badRequest("malformed HTTP version")
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return nil, "", badRequest("byte 0x%02x in request target", c)
		}
	}
	return req, string(target), nil
}

// internMethod returns the common methods as constants, without a copy.
func internMethod(m []byte) string {
	for _, known := range [...]string{"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"} {
		if string(m) == known {
			return known
		}
	}
	return string(m)
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

// head holds the fields the proxy interprets; regular are forwarded. A head lives
// on its caller's stack: values keeps the first few values in place, so the usual
// head costs no allocation.
type head struct {
	host, contentLength, transferEncoding values
	connection                            values // lower-cased tokens
	upgrade, expect                       values
	regular                               []Field
}

// values are one field's values in order.
type values struct {
	n     int
	first [4]string
	more  []string
}

func (v *values) add(s string) {
	if v.n < len(v.first) {
		v.first[v.n] = s
	} else {
		v.more = append(v.more, s)
	}
	v.n++
}

func (v *values) at(i int) string {
	if i < len(v.first) {
		return v.first[i]
	}
	return v.more[i-len(v.first)]
}

// hopByHop are removed from what is forwarded (RFC 9110 7.6.1) or regenerated.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true, "http2-settings": true,
	"content-length": true, "host": true, "expect": true,
}

// classify fills h with the fields the proxy interprets and keeps in h.regular, in
// fields' own backing array, the ones it forwards: neither in hop nor named by a
// Connection field. fields is not used afterwards.
func classify(h *head, fields []Field, hop map[string]bool) {
	var buf [64]byte
	for _, f := range fields {
		switch string(lowerName(&buf, f.Name)) {
		case "host":
			h.host.add(f.Value)
		case "content-length":
			h.contentLength.add(f.Value)
		case "transfer-encoding":
			h.transferEncoding.add(f.Value)
		case "connection":
			addList(&h.connection, f.Value)
		case "upgrade":
			h.upgrade.add(f.Value)
		case "expect":
			h.expect.add(f.Value)
		}
	}
	// Filtering in place is safe: the write index never passes the read index.
	h.regular = fields[:0]
	for _, f := range fields {
		k := lowerName(&buf, f.Name)
		if !hop[string(k)] && !h.listed(k) {
			h.regular = append(h.regular, f)
		}
	}
	if len(h.regular) == 0 {
		h.regular = nil
	}
}

// listed reports whether a Connection field names the lower-case field name k. A
// linear scan: there are rarely more than two tokens, and a set was an allocation
// per message.
func (h *head) listed(k []byte) bool {
	for i := range h.connection.n {
		c := h.connection.at(i)
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

// addList adds the lower-cased, non-empty elements of a comma-separated list to out.
func addList(out *values, v string) {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.ToLower(strings.Trim(p, " \t")); p != "" {
			out.add(p)
		}
	}
}

// applyFraming decides the body length and refuses every ambiguous combination.
func applyFraming(req *Request, h *head, maxBody int64) error {
	switch {
	case h.transferEncoding.n > 0 && h.contentLength.n > 0:
		return badRequest("Content-Length with Transfer-Encoding")
	case h.transferEncoding.n > 0:
		if h.transferEncoding.n != 1 || !strings.EqualFold(h.transferEncoding.at(0), "chunked") {
			return errorf(http.StatusNotImplemented, "transfer coding other than a lone chunked")
		}
		if req.Proto != "HTTP/1.1" {
			return badRequest("Transfer-Encoding in HTTP/1.0")
		}
		req.ContentLength = -1
		return nil
	case h.contentLength.n > 0:
		n, err := contentLength(&h.contentLength)
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
func contentLength(vs *values) (int64, error) {
	var n int64 = -1
	for i := range vs.n {
		v := vs.at(i)
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
func applyTarget(req *Request, target string, hosts *values, cfg Config) error {
	if hosts.n != 1 {
		return badRequest("want exactly one Host field, got %d", hosts.n)
	}
	host, err := NormalizeHost(hosts.at(0), cfg.DefaultPort)
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
	for i := range h.connection.n {
		c := h.connection.at(i)
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
	if upgrade && h.upgrade.n == 1 && req.Proto == "HTTP/1.1" && !upgradesToH2C(h.upgrade.at(0)) {
		req.Upgrade = h.upgrade.at(0)
	}
	for i := range h.expect.n {
		e := h.expect.at(i)
		if strings.EqualFold(e, "100-continue") {
			req.Expect100 = true
		}
	}
	req.Header = h.regular
}

// upgradesToH2C is true for an HTTP/2 cleartext upgrade, which the proxy never
// forwards: after it the app would speak HTTP/2 that the proxy does not parse.
func upgradesToH2C(v string) bool {
	var tokens values
	addList(&tokens, v)
	for i := range tokens.n {
		p := tokens.at(i)
		if strings.HasPrefix(p, "h2") {
			return true
		}
	}
	return false
}
