package httpx

import (
	"bufio"
	"strconv"
)

// WriteHead writes req's head as the proxy forwards it: the normalized request line
// (always HTTP/1.1), Host, the regular fields, then extra, then the framing and
// connection fields the proxy regenerates.
func WriteHead(w *bufio.Writer, req *Request, extra []Field) {
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.Target())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(req.Host)
	w.WriteString("\r\n")
	for _, f := range req.Header {
		writeField(w, f.Name, f.Value)
	}
	for _, f := range extra {
		writeField(w, f.Name, f.Value)
	}
	switch {
	case req.Chunked():
		writeField(w, "Transfer-Encoding", "chunked")
	case req.ContentLength > 0 || methodExpectsBody(req.Method):
		writeField(w, "Content-Length", strconv.FormatInt(req.ContentLength, 10))
	}
	if req.Upgrade != "" {
		writeField(w, "Connection", "Upgrade")
		writeField(w, "Upgrade", req.Upgrade)
	}
	w.WriteString("\r\n")
}

func methodExpectsBody(m string) bool {
	return m == "POST" || m == "PUT" || m == "PATCH"
}

func writeField(w *bufio.Writer, name, value string) {
	w.WriteString(name)
	w.WriteString(": ")
	w.WriteString(value)
	w.WriteString("\r\n")
}

// WriteResponseHead writes resp's status line (always HTTP/1.1) and its end-to-end
// fields. The caller adds the framing and connection fields it chose for its own
// client, then the empty line.
func WriteResponseHead(w *bufio.Writer, resp *Response) {
	w.WriteString("HTTP/1.1 ")
	// Appending to AvailableBuffer formats the number without an allocation.
	w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(resp.Status), 10))
	w.WriteByte(' ')
	w.WriteString(resp.Reason)
	w.WriteString("\r\n")
	for _, f := range resp.Header {
		writeField(w, f.Name, f.Value)
	}
}
