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

// writeResponseHead writes the status line and end-to-end fields of resp.
func writeResponseHead(bw *bufio.Writer, resp *http.Response) {
	text := strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)+" ")
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", resp.StatusCode, text)
	listed := map[string]bool{}
	for _, v := range resp.Header.Values("Connection") {
		for t := range strings.SplitSeq(v, ",") {
			listed[strings.ToLower(strings.TrimSpace(t))] = true
		}
	}
	for k, vv := range resp.Header {
		lk := strings.ToLower(k)
		if responseHopByHop[lk] || listed[lk] {
			continue
		}
		for _, v := range vv {
			fmt.Fprintf(bw, "%s: %s\r\n", k, v)
		}
	}
}

// bodyless reports whether a response to method with status has no body.
func bodyless(method string, status int) bool {
	return method == http.MethodHead || status/100 == 1 || status == http.StatusNoContent || status == http.StatusNotModified
}

// writeResponse sends the app's final response to an HTTP/1.x client and reports
// whether the client connection may carry another request.
func writeResponse(bw *bufio.Writer, resp *http.Response, method, proto string, clientClose bool) (bool, error) {
	writeResponseHead(bw, resp)
	keep := !clientClose
	var copyBody func() error
	switch {
	case bodyless(method, resp.StatusCode):
		if resp.ContentLength >= 0 && resp.StatusCode != http.StatusNoContent && resp.StatusCode/100 != 1 {
			fmt.Fprintf(bw, "Content-Length: %d\r\n", resp.ContentLength)
		}
		copyBody = func() error { return nil }
	case resp.ContentLength >= 0:
		fmt.Fprintf(bw, "Content-Length: %d\r\n", resp.ContentLength)
		copyBody = func() error { return copyFlushing(bw, resp.Body, nil) }
	case proto == "HTTP/1.1":
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		copyBody = func() error { return copyChunked(bw, resp) }
	default:
		keep = false
		copyBody = func() error { return copyFlushing(bw, resp.Body, nil) }
	}
	switch {
	case !keep:
		bw.WriteString("Connection: close\r\n")
	case proto == "HTTP/1.0":
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if err := copyBody(); err != nil {
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
