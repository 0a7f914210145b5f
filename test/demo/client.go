package demo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"time"
)

// Result is what one client request saw.
type Result struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Status int    `json:"status,omitempty"` // 0 when no response arrived
	Body   string `json:"body,omitempty"`
	By     string `json:"by,omitempty"`   // the deathstar replica that answered
	Peer   string `json:"peer,omitempty"` // the peer address the app's socket reports
	Err    string `json:"err,omitempty"`  // connection error, when no response arrived
}

// Failed reports whether the request got no HTTP response at all.
func (r Result) Failed() bool { return r.Status == 0 }

// runClient reads "METHOD URL" lines and answers each with a Result line. Every
// request opens its own connection, so each is one captured connect.
func runClient(in io.Reader, out io.Writer) error {
	c := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	enc := json.NewEncoder(out)
	fmt.Fprintln(out, "READY")
	s := bufio.NewScanner(in)
	for s.Scan() {
		method, url, ok := strings.Cut(strings.TrimSpace(s.Text()), " ")
		if !ok {
			continue
		}
		if err := enc.Encode(do(c, method, url)); err != nil {
			return err
		}
	}
	return s.Err()
}

func do(c *http.Client, method, url string) Result {
	r := Result{Method: method, URL: url}
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	// getpeername on the app's own socket: under capture it still names the
	// address the app dialled, not the proxy it really reached.
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { r.Peer = i.Conn.RemoteAddr().String() }}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := c.Do(req)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	r.Status, r.Body, r.By = resp.StatusCode, string(b), resp.Header.Get(ServedByHeader)
	if err != nil {
		r.Err = err.Error()
	}
	return r
}
