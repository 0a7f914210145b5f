package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
)

// lineReader reads CRLF-terminated lines and charges them to a byte budget, so an
// oversize head is refused (431) before it is buffered.
type lineReader struct {
	br     *bufio.Reader
	budget int
}

// errTooLarge is the 431 for a header section past its budget.
var errTooLarge = &Error{Status: http.StatusRequestHeaderFieldsTooLarge, Reason: "request header section too large"}

// line returns one line without its CRLF. A line ending in a bare LF, or holding a
// CR anywhere else, is refused.
func (lr *lineReader) line() ([]byte, error) {
	// Fast path: the whole line is in the buffer (the slice is valid until the
	// next read; callers copy what they keep).
	if chunk, err := lr.br.ReadSlice('\n'); err == nil && len(chunk) <= lr.budget {
		return lr.finish(chunk)
	} else if len(chunk) > lr.budget {
		return nil, errTooLarge
	} else if !errors.Is(err, bufio.ErrBufferFull) {
		if errors.Is(err, io.EOF) && len(chunk) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	} else {
		return lr.longLine(append([]byte(nil), chunk...))
	}
}

// longLine continues a line longer than the bufio buffer.
func (lr *lineReader) longLine(buf []byte) ([]byte, error) {
	for {
		chunk, err := lr.br.ReadSlice('\n')
		if len(buf)+len(chunk) > lr.budget {
			return nil, errTooLarge
		}
		buf = append(buf, chunk...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return lr.finish(buf)
}

// finish charges a complete line to the budget and strips its CRLF.
func (lr *lineReader) finish(buf []byte) ([]byte, error) {
	lr.budget -= len(buf)
	if len(buf) < 2 || buf[len(buf)-2] != '\r' {
		return nil, badRequest("bare LF")
	}
	buf = buf[:len(buf)-2]
	if bytes.IndexByte(buf, '\r') >= 0 {
		return nil, badRequest("bare CR")
	}
	return buf, nil
}

// requestLine skips empty lines before a request (RFC 9112 2.2 allows one; they carry
// no meaning) and returns io.EOF when the peer closed between requests.
func (lr *lineReader) requestLine() ([]byte, error) {
	for range 4 {
		l, err := lr.line()
		if err != nil || len(l) > 0 {
			return l, err
		}
	}
	return nil, badRequest("empty lines before request")
}

// fields reads header lines up to the empty line. The names and values of all
// fields are gathered into one byte slice (on the stack for a typical head) and
// become one string: a string per field was most of a parse's allocations. The
// fields go into dst's backing array when it is large enough.
func (lr *lineReader) fields(max int, dst []Field) ([]Field, error) {
	fields, _, err := lr.fieldsAfter(max, dst, nil)
	return fields, err
}

// fieldsAfter is fields whose string also holds first (the request target), copied
// before any line is read: first may be a slice of the buffer that reading refills.
func (lr *lineReader) fieldsAfter(max int, dst []Field, first []byte) ([]Field, string, error) {
	var rawBuf [1024]byte // zeroed on every call: sized for a typical head, not the largest
	var spanBuf [16]fieldSpan
	raw, spans := append(rawBuf[:0], first...), spanBuf[:0]
	for {
		l, err := lr.line()
		if err != nil {
			return nil, "", eofIsBad(err)
		}
		if len(l) == 0 {
			break
		}
		if len(spans) == max {
			return nil, "", &Error{Status: http.StatusRequestHeaderFieldsTooLarge, Reason: "too many header fields"}
		}
		name, value, err := parseField(l)
		if err != nil {
			return nil, "", err
		}
		sp := fieldSpan{start: len(raw)}
		raw = append(raw, name...)
		sp.nameEnd = len(raw)
		raw = append(raw, value...)
		sp.end = len(raw)
		spans = append(spans, sp)
	}
	all := string(raw)
	if len(spans) == 0 {
		return nil, all, nil
	}
	out := dst[:0]
	if cap(out) < len(spans) {
		out = make([]Field, 0, len(spans))
	}
	for _, sp := range spans {
		out = append(out, Field{Name: all[sp.start:sp.nameEnd], Value: all[sp.nameEnd:sp.end]})
	}
	return out, all[:len(first)], nil
}

// fieldSpan locates one field's name and value in the bytes fields gathers.
type fieldSpan struct{ start, nameEnd, end int }

func eofIsBad(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseField splits "name: value" into slices of l. obs-fold (a line starting with
// whitespace), whitespace before the colon, non-token names and control characters
// in values are refused.
func parseField(l []byte) (name, value []byte, err error) {
	if l[0] == ' ' || l[0] == '\t' {
		return nil, nil, badRequest("obs-fold")
	}
	colon := bytes.IndexByte(l, ':')
	if colon <= 0 {
		return nil, nil, badRequest("header line without name and colon")
	}
	name = l[:colon]
	for _, c := range name {
		if !tokenChar(c) {
			return nil, nil, badRequest("byte 0x%02x in header name", c)
		}
	}
	value = trimOWS(l[colon+1:])
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, nil, badRequest("control byte 0x%02x in header value", c)
		}
	}
	return name, value, nil
}

// tokenChar reports whether c is a tchar (RFC 9110 5.6.2): ALPHA, DIGIT or one of
// "!#$%&'*+-.^_`|~". The set is two bit masks over ASCII: searching the punctuation
// string for every byte of every name showed in the profile.
func tokenChar(c byte) bool {
	return tokenChars.has(c)
}

var tokenChars = asciiSet{lo: 0x03ff6cfa00000000, hi: 0x57ffffffc7fffffe}

// asciiSet is a set of ASCII bytes as two bit masks (bytes 0-63, 64-127).
type asciiSet struct{ lo, hi uint64 }

func (s asciiSet) has(c byte) bool {
	switch {
	case c < 64:
		return s.lo>>c&1 != 0
	case c < 128:
		return s.hi>>(c-64)&1 != 0
	}
	return false
}

// trimOWS strips spaces and tabs from both ends of b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
