package inbound

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/rampart-mesh/rampart/rego"
)

// denial is a response the proxy makes itself: a policy deny or a refused request.
type denial struct {
	status  int
	body    string
	headers map[string]string
}

// denialFor turns a deny decision into its response: 403 "Access denied" unless the
// policy gave its own status, body or headers.
func denialFor(d rego.Decision) denial {
	out := denial{status: d.HTTPStatus, body: d.Body, headers: d.Headers}
	if out.status < 200 || out.status > 599 {
		out.status = http.StatusForbidden
	}
	if out.body == "" && d.HTTPStatus == 0 || out.body == "" && out.status == http.StatusForbidden {
		out.body = "Access denied"
	}
	return out
}

// errorDenial is the response for a request refused before or after policy.
func errorDenial(status int) denial {
	return denial{status: status, body: http.StatusText(status)}
}

// write sends d as an HTTP/1.1 response; closing adds "Connection: close".
func (d denial) write(bw *bufio.Writer, closing bool) error {
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", d.status, http.StatusText(d.status))
	hasType := false
	for k, v := range d.headers {
		if !safeResponseField(k, v) {
			continue
		}
		hasType = hasType || strings.EqualFold(k, "content-type")
		fmt.Fprintf(bw, "%s: %s\r\n", k, v)
	}
	if !hasType {
		bw.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	}
	if closing {
		bw.WriteString("Connection: close\r\n")
	}
	fmt.Fprintf(bw, "Content-Length: %d\r\n\r\n%s", len(d.body), d.body)
	return bw.Flush()
}

// safeResponseField drops policy-supplied fields that would break the response's
// framing or could not be sent at all.
func safeResponseField(k, v string) bool {
	if k == "" || strings.ContainsAny(v, "\r\n\x00") {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	switch strings.ToLower(k) {
	case "content-length", "transfer-encoding", "connection", "upgrade", "keep-alive", "trailer":
		return false
	}
	return true
}

// responseHopByHop are never copied from the app's response; the proxy frames the
// response to its own client itself.
var responseHopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true, "content-length": true,
}

// writeResponseHead writes the status line and end-to-end fields of resp. It writes
// strings piecewise and compares names without lowercasing copies: the fmt calls,
// lowered keys and the Connection-token map were a dozen allocations per response.
func writeResponseHead(bw *bufio.Writer, resp *http.Response) {
	bw.WriteString("HTTP/1.1 ")
	// Appending to AvailableBuffer formats the number without an allocation.
	code := strconv.AppendInt(bw.AvailableBuffer(), int64(resp.StatusCode), 10)
	text := resp.Status
	if len(text) > len(code) && text[len(code)] == ' ' && text[:len(code)] == string(code) {
		text = text[len(code)+1:]
	}
	bw.Write(code)
	bw.WriteString(" ")
	bw.WriteString(text)
	bw.WriteString("\r\n")
	conn := resp.Header.Values("Connection")
	for k, vv := range resp.Header {
		if isResponseHopByHop(k) || connectionListed(conn, k) {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
}

// isResponseHopByHop reports, case-insensitively, whether name is in
// responseHopByHop; it lowercases into a stack buffer (longer names are none of them).
func isResponseHopByHop(name string) bool {
	var lower [32]byte
	if len(name) > len(lower) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return responseHopByHop[string(lower[:len(name)])]
}

// connectionListed reports whether a Connection field value names field name (the
// sender marked it hop-by-hop).
func connectionListed(conn []string, name string) bool {
	for _, v := range conn {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), name) {
				return true
			}
		}
	}
	return false
}

// bodyless reports whether a response to method with status has no body.
func bodyless(method string, status int) bool {
	return method == http.MethodHead || status/100 == 1 || status == http.StatusNoContent || status == http.StatusNotModified
}

// bodyFraming is how writeResponse sends the app's body on.
type bodyFraming int

const (
	framingNone    bodyFraming = iota // bodyless response
	framingLength                     // Content-Length, copied as is
	framingChunked                    // re-chunked for an HTTP/1.1 client
	framingClose                      // delimited by closing the connection
)

// writeContentLength writes a Content-Length field without fmt's allocations.
func writeContentLength(bw *bufio.Writer, n int64) {
	bw.WriteString("Content-Length: ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, 10))
	bw.WriteString("\r\n")
}

// writeResponse sends the app's final response to an HTTP/1.x client and reports
// whether the client connection may carry another request.
func writeResponse(bw *bufio.Writer, resp *http.Response, method, proto string, clientClose bool) (bool, error) {
	writeResponseHead(bw, resp)
	keep := !clientClose
	var framing bodyFraming
	switch {
	case bodyless(method, resp.StatusCode):
		if resp.ContentLength >= 0 && resp.StatusCode != http.StatusNoContent && resp.StatusCode/100 != 1 {
			writeContentLength(bw, resp.ContentLength)
		}
		framing = framingNone
	case resp.ContentLength >= 0:
		writeContentLength(bw, resp.ContentLength)
		framing = framingLength
	case proto == "HTTP/1.1":
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		framing = framingChunked
	default:
		keep = false
		framing = framingClose
	}
	switch {
	case !keep:
		bw.WriteString("Connection: close\r\n")
	case proto == "HTTP/1.0":
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	var err error
	switch framing {
	case framingLength, framingClose:
		err = copyFlushing(bw, resp.Body, nil)
	case framingChunked:
		err = copyChunked(bw, resp)
	}
	if err != nil {
		return false, err
	}
	return keep, bw.Flush()
}

// copyBufs recycles copy buffers: a 32 KiB allocation per response showed up in
// the benchmark profile. A sync.Pool is safe shared state, not configuration.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyFlushing copies src to bw, flushing whenever src has nothing more ready, so
// streamed responses (server-sent events, long polls) are not held back.
func copyFlushing(bw *bufio.Writer, src io.Reader, chunk func([]byte) error) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, err := src.Read(buf)
		if n > 0 {
			var werr error
			if chunk != nil {
				werr = chunk(buf[:n])
			} else {
				_, werr = bw.Write(buf[:n])
			}
			if werr == nil {
				werr = bw.Flush()
			}
			if werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("copy response: %w", err)
		}
	}
}

func copyChunked(bw *bufio.Writer, resp *http.Response) error {
	err := copyFlushing(bw, resp.Body, func(p []byte) error {
		fmt.Fprintf(bw, "%x\r\n", len(p))
		bw.Write(p)
		_, err := bw.WriteString("\r\n")
		return err
	})
	if err != nil {
		return err
	}
	bw.WriteString("0\r\n")
	for k, vv := range resp.Trailer {
		for _, v := range vv {
			if safeResponseField(k, v) {
				fmt.Fprintf(bw, "%s: %s\r\n", k, v)
			}
		}
	}
	_, err = bw.WriteString("\r\n")
	return err
}
