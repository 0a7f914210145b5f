package httpx

import (
	"bufio"
	"errors"
	"net/http"
	"strings"
)

// Framing is how a response body is delimited.
type Framing uint8

const (
	// NoBody: a response to HEAD, a 1xx, 204 or 304 (RFC 9112 6.3 rules 1-2).
	NoBody Framing = iota
	// LengthBody: exactly ContentLength bytes.
	LengthBody
	// ChunkedBody: chunked transfer coding.
	ChunkedBody
	// CloseBody: everything until the app closes the connection.
	CloseBody
)

// Response is one parsed and validated HTTP/1.x response head from an application.
// Framing and hop-by-hop fields are not in Header: the proxy frames the response to
// its own client itself.
type Response struct {
	Proto  string // "HTTP/1.0" or "HTTP/1.1"
	Status int    // 100-599
	Reason string // reason phrase, may be empty
	Header []Field
	// Framing says how the body that follows the head is delimited.
	Framing Framing
	// ContentLength is the Content-Length the app sent, or -1 without one. For a
	// HEAD or 304 response it is the length a GET would have had (no body follows).
	ContentLength int64
	// Close is set when the app will close the connection after this response.
	Close bool
	// Upgrade is the Upgrade field of a 101 response.
	Upgrade string

	fieldBuf [6]Field // backs Header for a typical response: no allocation of its own
}

// ReadResponse reads one response head from br, the answer to a request with method.
// It refuses with a 502 *Error what could be framed two ways, by the same rules as
// ReadRequest: Content-Length with Transfer-Encoding, differing Content-Lengths, a
// transfer coding other than a lone chunked, obs-fold, bare LF or CR, whitespace
// before a colon; also a body length on a 1xx or 204, which has no body. It returns
// io.EOF when the connection ended before a byte of the response (a kept-alive
// connection the app had closed).
func ReadResponse(br *bufio.Reader, method string, cfg Config) (*Response, error) {
	r := &Response{}
	if err := r.Read(br, method, cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// Read is ReadResponse into r, which it overwrites: a proxy that relays one response
// at a time on a connection reuses one Response instead of allocating one per
// request.
func (r *Response) Read(br *bufio.Reader, method string, cfg Config) error {
	*r = Response{ContentLength: -1}
	cfg.setDefaults()
	lr := lineReader{br: br, budget: cfg.MaxHeaderBytes}
	line, err := lr.line()
	if err != nil {
		return badGateway(err)
	}
	if err := r.parseStatusLine(line); err != nil {
		return err
	}
	fields, err := lr.fields(cfg.MaxHeaders, r.fieldBuf[:0])
	if err != nil {
		return badGateway(err)
	}
	var h head
	classify(&h, fields, false)
	if err := r.frame(&h, method); err != nil {
		return err
	}
	r.Header = h.regular
	return nil
}

// badGateway turns a refusal of the app's bytes into the 502 the client gets;
// transport errors (EOF, reset, timeout) pass through.
func badGateway(err error) error {
	var he *Error
	if !errors.As(err, &he) {
		return err
	}
	return &Error{Status: http.StatusBadGateway, Reason: "response: " + he.Reason}
}

func badResponse(format string, args ...any) *Error {
	return errorf(http.StatusBadGateway, "response: "+format, args...)
}

// parseStatusLine checks "HTTP/1.x SP 3DIGIT [SP reason]". The reason may be empty
// and the SP before it missing (common, and no framing depends on it).
func (r *Response) parseStatusLine(l []byte) error {
	if len(l) < 12 || l[8] != ' ' || len(l) > 12 && l[12] != ' ' {
		return badResponse("malformed status line")
	}
	switch string(l[:8]) {
	case "HTTP/1.1":
		r.Proto = "HTTP/1.1"
	case "HTTP/1.0":
		r.Proto = "HTTP/1.0"
	default:
		return badResponse("version %q", l[:8])
	}
	code := l[9:12]
	if code[0] < '1' || code[0] > '5' || !isDigit(code[1]) || !isDigit(code[2]) {
		return badResponse("status code %q", code)
	}
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if len(l) > 13 {
		reason := l[13:]
		for _, c := range reason {
			if c < ' ' && c != '\t' || c == 0x7f {
				return badResponse("control byte 0x%02x in reason phrase", c)
			}
		}
		// The usual phrase is a constant: no copy.
		if r.Reason = http.StatusText(r.Status); r.Reason != string(reason) {
			r.Reason = string(reason)
		}
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// frame decides the body framing (RFC 9112 6.3) and the connection's fate, and
// refuses every ambiguous combination.
func (r *Response) frame(h *head, method string) error {
	te, cl := h.transferEncoding.n > 0, h.contentLength.n > 0
	switch {
	case te && cl:
		return badResponse("Content-Length with Transfer-Encoding")
	case te && (h.transferEncoding.n != 1 || !strings.EqualFold(h.transferEncoding.at(0), "chunked")):
		return badResponse("transfer coding other than a lone chunked")
	case te && r.Proto != "HTTP/1.1":
		return badResponse("Transfer-Encoding in HTTP/1.0")
	case cl:
		n, err := contentLength(&h.contentLength, true)
		if err != nil {
			return badGateway(err)
		}
		r.ContentLength = n
	}
	noContent := r.Status/100 == 1 || r.Status == http.StatusNoContent
	switch {
	case noContent && (te || r.ContentLength > 0):
		// A client that believed the length would read the next response as
		// this one's body.
		return badResponse("body length on a %d response", r.Status)
	case noContent || method == http.MethodHead || r.Status == http.StatusNotModified:
		r.Framing = NoBody
	case te:
		r.Framing = ChunkedBody
	case cl:
		r.Framing = LengthBody
	default:
		r.Framing = CloseBody
	}
	r.applyConnection(h)
	return nil
}

// applyConnection sets Close and Upgrade.
func (r *Response) applyConnection(h *head) {
	var keepAlive bool
	r.Close, keepAlive, _ = h.connectionTokens()
	if r.Proto == "HTTP/1.0" && !keepAlive || r.Framing == CloseBody {
		r.Close = true
	}
	if r.Status == http.StatusSwitchingProtocols && h.upgrade.n == 1 {
		r.Upgrade = h.upgrade.at(0)
	}
}
