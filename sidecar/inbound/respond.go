package inbound

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// denial is a response the proxy makes itself: a policy deny or a refused request.
type denial struct {
	status  int
	body    string
	headers []rego.Field
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
	for _, f := range d.headers {
		k, v := f.Name, f.Value
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

// responseHopByHop are hop-by-hop fields (RFC 9110 7.6.1) the HTTP/2 path drops;
// the HTTP/1 path has httpx drop them from the app's response.
var responseHopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true, "content-length": true,
}

// writeContentLength writes a Content-Length field without fmt's allocations.
func writeContentLength(bw *bufio.Writer, n int64) {
	bw.WriteString("Content-Length: ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, 10))
	bw.WriteString("\r\n")
}

// writeResponse sends the app's final response to an HTTP/1.x client, its body read
// through body, and reports whether the client connection may carry another request.
// The body keeps the app's length when it has one; otherwise it is re-chunked for
// an HTTP/1.1 client and delimited by closing for an HTTP/1.0 one.
func writeResponse(bw *bufio.Writer, resp *httpx.Response, body *httpx.BodyReader, proto string, clientClose bool) (bool, error) {
	httpx.WriteResponseHead(bw, resp)
	keep := !clientClose
	chunked := false
	switch {
	case resp.Framing == httpx.NoBody:
		// HEAD and 304 responses carry the length a GET would have had.
		if resp.ContentLength >= 0 && resp.Status != http.StatusNoContent {
			writeContentLength(bw, resp.ContentLength)
		}
	case resp.Framing == httpx.LengthBody:
		writeContentLength(bw, resp.ContentLength)
	case proto == "HTTP/1.1":
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		chunked = true
	default:
		keep = false
	}
	switch {
	case !keep:
		bw.WriteString("Connection: close\r\n")
	case proto == "HTTP/1.0":
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if err := copyBody(bw, body, chunked); err != nil {
		return false, err
	}
	return keep, bw.Flush()
}

// copyBody writes the body on piece by piece straight from the app connection's
// buffer. It flushes only before waiting for the app: a response that has fully
// arrived goes out in one write, and a streamed one (server-sent events, long
// polls) is not held back.
func copyBody(bw *bufio.Writer, body *httpx.BodyReader, chunked bool) error {
	for {
		if !body.Ready() {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		p, err := body.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("copy response: %w", err)
		}
		if chunked {
			bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(p)), 16))
			bw.WriteString("\r\n")
		}
		if _, err := bw.Write(p); err != nil {
			return err
		}
		if chunked {
			bw.WriteString("\r\n")
		}
	}
	if chunked {
		bw.WriteString("0\r\n")
		for _, f := range body.Trailer {
			if safeResponseField(f.Name, f.Value) {
				bw.WriteString(f.Name + ": " + f.Value + "\r\n")
			}
		}
		_, err := bw.WriteString("\r\n")
		return err
	}
	return nil
}
